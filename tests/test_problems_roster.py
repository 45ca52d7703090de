"""The roster: every bad row is reported with its place (file:line)."""
from __future__ import annotations

import pytest

from grader.problems.roster import RosterError, read_roster


def write(tmp_path, data: bytes):
    p = tmp_path / "roster.csv"
    p.write_bytes(data)
    return p


def test_reads_ids_names_emails_with_bom_and_blank_lines(tmp_path):
    p = write(tmp_path, "\ufeffStudent_ID,Name,email,section\ns001,Ada,a@x,A\n\n s002 ,,,B\n"
              .encode("utf-8"))
    students = read_roster(p)
    assert [(s.student_id, s.name, s.email, s.line) for s in students] == [
        ("s001", "Ada", "a@x", 2), ("s002", "", "", 4)]


def test_duplicate_and_empty_ids_name_every_row(tmp_path):
    p = write(tmp_path, b"student_id,name\ns001,A\n,B\ns002,C\ns001,D\n  ,E\n")
    with pytest.raises(RosterError) as err:
        read_roster(p)
    msgs = err.value.problems
    assert f"{p}:3: empty student_id" in msgs
    assert f"{p}:5: duplicate student_id 's001' (first on line 2)" in msgs
    assert f"{p}:6: empty student_id" in msgs
    assert len(msgs) == 3


def test_non_utf8_names_the_line(tmp_path):
    p = write(tmp_path, b"student_id,name\ns001,Ada\ns002,Ren\xe9e\n")
    with pytest.raises(RosterError) as err:
        read_roster(p)
    assert str(err.value).startswith(f"{p}:3: not valid UTF-8 (byte 0xe9")


def test_missing_column_unsafe_ids_and_empty_roster(tmp_path):
    with pytest.raises(RosterError, match=":1: no student_id column"):
        read_roster(write(tmp_path, b"id,name\ns001,A\n"))
    with pytest.raises(RosterError, match=r":2: student_id '\.\./etc' may only contain"):
        read_roster(write(tmp_path, b"student_id\n../etc\n"))
    with pytest.raises(RosterError, match="no students"):
        read_roster(write(tmp_path, b"student_id\n"))
    with pytest.raises(RosterError, match="empty"):
        read_roster(write(tmp_path, b""))
    with pytest.raises(RosterError, match="cannot read"):
        read_roster(tmp_path / "nope.csv")


def test_an_unterminated_quote_is_an_error_naming_its_row(tmp_path):
    # Without strict CSV the quote swallowed every following row: 1 student, no error.
    p = write(tmp_path, b'student_id,name\ns1,"unterminated\ns2,B\n')
    with pytest.raises(RosterError) as err:
        read_roster(p)
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith(f"{p}:2: this row cannot be read as CSV")
    assert "never closed" in err.value.problems[0]
    p = write(tmp_path, b'student_id,name\ns0,A\ns1,"Ada" Lovelace\ns2,B\n')
    with pytest.raises(RosterError, match=":3: this row cannot be read as CSV"):
        read_roster(p)


def test_line_breaks_inside_ids_names_and_emails_are_refused(tmp_path):
    p = write(tmp_path, b'student_id,name,email\ns0,A,\ns1,"Ada\nLovelace",\n"s2\n",B,\n'
              b's3,C,"c@x\r\n"\ns4,D,\n')
    with pytest.raises(RosterError) as err:
        read_roster(p)
    assert err.value.problems == [
        f"{p}:3: the name contains a line break (a quote that is not closed on its line?)",
        f"{p}:5: the student_id contains a line break (a quote that is not closed on its line?)",
        f"{p}:7: the email contains a line break (a quote that is not closed on its line?)"]
    # Quoted fields without line breaks are fine.
    ok = write(tmp_path, b'student_id,name\n"s1","Lovelace, Ada"\n')
    assert [(s.student_id, s.name) for s in read_roster(ok)] == [("s1", "Lovelace, Ada")]
