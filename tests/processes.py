"""Which processes are still alive, read from /proc: nothing here signals anything."""
import os


def processes_naming(*texts):
    """Live processes (not zombies, not us) whose command line holds one of `texts`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and int(pid) != os.getpid() and any(t.encode() in cmd for t in texts):
            found.append(int(pid))
    return found
