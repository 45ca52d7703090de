"""What a pytest run's JUnit XML report says of each test case."""
import xml.etree.ElementTree as ET


def outcomes(path, key=lambda case: case.get("name")) -> dict:
    """{key(case): (outcome, message)}, outcome one of passed, failure, error, skipped."""
    found = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome, message = tag, (node.get("message") or "") + "\n" + (node.text or "")
        found[key(case)] = (outcome, message)
    return found
