# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Editing AWS INI files: byte-for-byte preservation (a property test), locking, atomic writes, malformed files."""

import configparser
import io
import multiprocessing
import os
import random
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
from tests.support.examples import examples


def parsed(text):
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return {name: dict(parser.items(name)) for name in parser.sections()}


# --- generated files: each section is a chunk of text, so the test knows the boundaries itself ---

KEYS = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="\\"), max_size=20).map(str.strip)
NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)
SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def option_lines(draw, key):
    before, after = draw(SPACES), draw(SPACES)
    delimiter = draw(st.sampled_from(["=", ":"]))
    indent = draw(st.sampled_from(["", "", "", "  "]))
    lines = [f"{indent}{key}{before}{delimiter}{after}{draw(VALUES)}"]
    if draw(st.integers(0, 5)) == 0:  # an indented continuation, as in nested s3 settings
        lines.append(f"{indent}    {draw(KEYS)} = {draw(VALUES)}")
    return lines


@st.composite
def filler(draw):
    return draw(st.sampled_from(["", "   ", "# a comment", "; another", "  # indented comment", "#[not-a-section]"]))


@st.composite
def section_chunk(draw, header):
    lines = [header + draw(st.sampled_from(["", "  ", "\t"]))]
    for key in draw(st.lists(KEYS, unique=True, max_size=5)):
        lines += [draw(filler()) for dummy in range(draw(st.integers(0, 2)))]
        lines += draw(option_lines(key))
    lines += [draw(filler()) for dummy in range(draw(st.integers(0, 2)))]
    return lines


@st.composite
def ini_files(draw):
    names = draw(st.lists(NAMES, unique=True, min_size=1, max_size=5))
    chunks = [[draw(filler()) for dummy in range(draw(st.integers(0, 2)))]]
    for name in names:
        header = f"[profile {name}]" if draw(st.booleans()) else f"[{name}]"
        chunks.append(draw(section_chunk(header)))
    eol = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    final_newline = draw(st.booleans())
    texts = [eol.join(chunk) + eol if chunk else "" for chunk in chunks]
    if not final_newline and texts[-1]:
        texts[-1] = texts[-1][:-len(eol)]
    names = [c[0].strip()[1:-1] for c in chunks[1:]]
    return texts, names


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ini_files(), st.data())
def test_an_edit_changes_only_its_own_section(generated, data):
    chunks, names = generated
    text = "".join(chunks)
    assume(isinstance(botocore_reading(text), dict))  # an option line indented deeper can continue an empty option above it
    before = parsed(text)
    ini = awsfiles.IniFile(text)
    assert ini.text == text and ini.names() == names

    target = data.draw(st.sampled_from(names + ["new-profile"]), label="section")
    operation = data.draw(st.sampled_from(["set", "remove"]), label="operation")
    if target == "new-profile" and operation == "remove":
        operation = "set"
    if operation == "remove":
        ini.remove(target)
    else:
        existing = list(before.get(target, {}))
        values = data.draw(st.dictionaries(st.sampled_from(existing + ["aws_session_token", "expiration"]), VALUES, min_size=1), label="values")
        removed = data.draw(st.lists(st.sampled_from(existing), max_size=2) if existing else st.just([]), label="remove")
        ini.set(target, values, removed)
    after = parsed(ini.text)

    # Every other section reads the same, and the edited one holds exactly what was asked.
    assert {k: v for k, v in after.items() if k != target} == {k: v for k, v in before.items() if k != target}
    if operation == "remove":
        assert target not in after
    else:
        expected = {k: v for k, v in before.get(target, {}).items() if k not in removed}
        expected.update(values)
        assert after[target] == expected

    # Byte for byte: what precedes and follows the edited section is untouched.
    if target in names:
        index = names.index(target) + 1
        prefix, suffix = "".join(chunks[:index]), "".join(chunks[index + 1:])
        assert ini.text.startswith(prefix) and ini.text.endswith(suffix)
        if operation == "remove":
            assert ini.text == prefix + suffix
    else:
        kept = text if text.endswith("\n") or not text else text + ("\r\n" if "\r\n" in text else "\n")
        assert ini.text.startswith(kept)


# --- any text at all: the reader must agree with configparser (botocore's parser) on every file, good or bad ---

BLANKS = ["", " ", "\t", "\x0c", "\x0b", "\xa0", "\x85", "\u2028", "\u3000", "\x1c"]  # str.strip() removes them all; only CR and LF end lines
NAME_PARTS = st.sampled_from(["a", "b", "B", "DEFAULT", "default", "profile a", "profile 'x y'", "a]b", " a ", "é", "[a", ""])
VALUE_PARTS = st.sampled_from(["", "1", " x ", "a=b", "a:b", "#no", "[s]", "\u00e9", "v v"])


@st.composite
def any_line(draw):
    indent = draw(st.sampled_from(["", "", "", " ", "  ", "\t", "    ", "\xa0"]))
    kind = draw(st.sampled_from(["header", "header", "option", "option", "option", "option", "comment", "blank", "junk", "continuation"]))
    if kind == "header":
        body = "[" + draw(NAME_PARTS) + draw(st.sampled_from(["]", "]", "]", "] x", "]]", ""]))
    elif kind == "option":
        key = draw(st.sampled_from(["x", "X", "y", "a b", "", "k.1", "[k]", "s3", "# not", "\u00e9"]))
        body = key + draw(st.sampled_from(BLANKS)) + draw(st.sampled_from(["=", ":", " = ", "=:", ":="])) + draw(VALUE_PARTS)
    elif kind == "comment":
        body = draw(st.sampled_from(["#", ";", "# [x]", "; y = 1"]))
    elif kind == "blank":
        body = draw(st.sampled_from(BLANKS))
    elif kind == "junk":
        body = draw(st.sampled_from(["junk", "wJalrXUt", "]", "[", "[]"]))
    else:
        body = draw(VALUE_PARTS) or "more"
        indent = "      "
    return indent + body + draw(st.sampled_from(BLANKS))


@st.composite
def any_text(draw):
    lines = draw(st.lists(any_line(), max_size=14))
    if draw(st.integers(0, 4)):  # most files start with a header, or nothing but errors before one would be drawn
        lines.insert(0, "[" + draw(NAME_PARTS) + "]")
    endings = draw(st.lists(st.sampled_from(["\n", "\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines)))
    text = "".join(line + eol for line, eol in zip(lines, endings))
    return text[:-1] if text.endswith("\n") and draw(st.booleans()) else text


CONFIGPARSER_ERRORS = {configparser.MissingSectionHeaderError: "an option before any [section] header",
                       configparser.DuplicateSectionError: "appears twice (", configparser.DuplicateOptionError: "appears twice in section",
                       configparser.ParsingError: "neither a [section] header"}
NESTED_ERROR = "holds a nested value"  # botocore's own check, after configparser's: see botocore_reading


def configparser_reading(text):
    """What botocore's parser makes of ``text``: {section: options} or (what the error says, its line)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error as e:
        line = e.lineno if hasattr(e, "lineno") else e.errors[0][0]
        return next(message for error, message in CONFIGPARSER_ERRORS.items() if isinstance(e, error)), line
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def botocore_reading(text):
    """``configparser_reading``, unless botocore's reader (raw_config_parse, on a file) refuses what configparser read:
    then (NESTED_ERROR, None). botocore's error names no line."""
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    read = configparser_reading(text)
    if not isinstance(read, dict):
        return read
    fd, path = tempfile.mkstemp(suffix=".ini")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        raw_config_parse(path)
    except ConfigParseError:
        return NESTED_ERROR, None
    finally:
        os.unlink(path)
    return read


def our_reading(text):
    try:
        ini = awsfiles.IniFile(text, "f")
    except awsfiles.FileError as e:
        if NESTED_ERROR in str(e):
            return NESTED_ERROR, None
        return next(message for message in CONFIGPARSER_ERRORS.values() if message in str(e)), e.line
    assert ini.text == text and ini.get("DEFAULT") is None
    return {name: ini.get(name) for name in dict.fromkeys(ini.names()) if name != "DEFAULT"}


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text())
def test_the_reader_agrees_with_botocore_on_any_text(text):
    """Read or refused (naming the line) as botocore reads or refuses it: configparser, then its parse of nested values."""
    expected = botocore_reading(text)
    assert our_reading(text) == expected
    if isinstance(expected, dict):
        assert list(our_reading(text)) == list(expected)  # and in the same order


@settings(max_examples=examples(600), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text(), st.data())
def test_edits_of_any_readable_text_change_only_their_section_or_nothing(text, data):
    before = botocore_reading(text)
    if not isinstance(before, dict):
        return
    ini = awsfiles.IniFile(text)
    for dummy in range(data.draw(st.integers(1, 3), label="edits")):
        text = ini.text
        names = [n for n in ini.names() if awsfiles._NOT_IN_NAMES.search(n) is None and n == n.strip() and n]  # pylint: disable=protected-access
        target = data.draw(st.sampled_from(names + ["new", "DEFAULT"]), label="section")
        values = data.draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.sampled_from(["1", "a b", ""]), max_size=2), label="values")
        remove = data.draw(st.lists(st.sampled_from(["x", "a b", "s3"]), max_size=2), label="remove")
        try:
            changed = ini.remove(target) if data.draw(st.booleans(), label="remove section") else ini.set(target, values, remove)
        except awsfiles.FileError as e:
            assert "would change how the sections next to it are read" in str(e) and ini.text == text
            continue
        except ValueError as e:  # [DEFAULT]'s options are every section's: it is never edited
            assert target == "DEFAULT" and "'DEFAULT' is refused" in str(e) and ini.text == text
            continue
        after = botocore_reading(ini.text)
        assert isinstance(after, dict), after
        assert {k: v for k, v in after.items() if k != target} == {k: v for k, v in before.items() if k != target}
        assert changed == (ini.text != text)
        assert our_reading(ini.text) == after == {name: ini.get(name) for name in dict.fromkeys(ini.names()) if name != "DEFAULT"}
        assert ini.names() == awsfiles.IniFile(ini.text).names()  # what the edit kept of the headers is what a new reading finds
        before = after


def test_an_edit_that_would_turn_the_next_header_into_a_continuation_is_refused():
    text = "[a]\nx = 1\n[b]\n  y = 2\n  [c]\nz = 3\n"  # [c] is a header: it is not indented deeper than y
    ini = awsfiles.IniFile(text)
    with pytest.raises(awsfiles.FileError, match=r"would change how the sections next to it are read: nothing was changed"):
        ini.remove("b")  # [c] would follow x = 1 and continue it
    assert ini.text == text and ini.names() == ["a", "b", "c"]
    assert ini.set("b", {"w": "4"}) and ini.text == "[a]\nx = 1\n[b]\n  y = 2\n  w = 4\n  [c]\nz = 3\n"  # indented like y
    assert configparser_reading(ini.text) == {"a": {"x": "1"}, "b": {"y": "2", "w": "4"}, "c": {"z": "3"}}


def test_an_edit_of_a_big_file_holds_memory_linear_in_its_size(tmp_path):
    """About 4 times the file's size at the peak (the text, its edited copy, and the section headers); it was 43 times."""
    path = tmp_path / "credentials"
    path.write_text("".join(f"[user{i}-long-term]\naws_access_key_id = AKIA{i:016d}\naws_secret_access_key = {i:040d}\n\n"
                            for i in range(20000)))  # 2 MB in 20,000 sections; bench/awsfiles_scale.py times 50 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        assert awsfiles.update(str(path), lambda ini: ini.set("user10000-long-term", {"aws_session_token": "t"})) is True
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * size, f"peak {peak / size:.1f} times the file's size"
    assert "[user10000-long-term]\naws_access_key_id = AKIA0000000000010000\n" in path.read_text()


CORPUS = sorted((Path(__file__).resolve().parents[3] / "data" / "aws_ini").glob("*/*"))  # botocore's own test files, see its README


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_botocores_test_files_read_as_configparser_reads_them_and_each_edit_stays_in_its_section(path):
    text = path.read_bytes().decode("utf-8")
    before = botocore_reading(text)
    assert our_reading(text) == before
    if not isinstance(before, dict):
        return
    for name in awsfiles.IniFile(text).names():
        header = re.search(r"^[ \t]*\[" + re.escape(name) + r"\][^\n]*\n", text, re.M)
        following = re.compile(r"^[ \t]*\[", re.M).search(text, header.end())
        prefix, suffix = text[:header.start()], text[following.start():] if following else ""
        for edit in (lambda ini: ini.set(name, {"aws_session_token": "new", "region": "eu-west-1"}),
                     lambda ini: ini.set(name, {}, remove=list(before[name])[:1]), lambda ini: ini.remove(name)):
            ini = awsfiles.IniFile(text)
            edit(ini)
            assert ini.text.startswith(prefix) and ini.text.endswith(suffix)
            after = botocore_reading(ini.text)
            assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}


def test_the_corpus_of_botocores_test_files_is_there():
    assert len(CORPUS) == 15  # an empty glob would leave the test above with nothing to check


def test_set_replaces_in_place_and_keeps_comments_and_other_lines():
    text = "# mine\n[prod-long-term]\naws_access_key_id=OLD\n# rotated yearly\nmfa_serial = arn:x\n\n[dev]\nregion = eu\n"
    ini = awsfiles.IniFile(text)
    assert ini.set("prod-long-term", {"aws_access_key_id": "NEW", "region": "us-east-1"}) is True
    assert ini.text == ("# mine\n[prod-long-term]\naws_access_key_id = NEW\n# rotated yearly\nmfa_serial = arn:x\nregion = us-east-1\n"
                        "\n[dev]\nregion = eu\n")
    assert ini.set("prod-long-term", {"aws_access_key_id": "NEW"}) is False


def test_a_new_section_goes_at_the_end_after_a_blank_line_with_the_files_line_endings():
    ini = awsfiles.IniFile("[a]\r\nx = 1")
    ini.set("b", {"y": "2"})
    assert ini.text == "[a]\r\nx = 1\r\n\r\n[b]\r\ny = 2\r\n"


@pytest.mark.parametrize("text, line, message", [
    ("[a]\nx = 1\n[a]\n", 3, "section [a] appears twice"),
    ("x = 1\n", 1, "an option before any [section] header"),
    ("[a]\nx = 1\nwJalrXUtnFEMI/K7MDENG\n", 3, "neither a [section] header"),
    ("[a]\nx = 1\nX = 2\n", 3, "option 'x' appears twice in section [a]"),
])
def test_malformed_files_are_named_with_their_line_and_never_echo_the_line(text, line, message):
    with pytest.raises(awsfiles.FileError) as error:
        awsfiles.IniFile(text, "/home/me/.aws/credentials")
    assert str(error.value).startswith(f"/home/me/.aws/credentials line {line}: {message}")
    assert "wJalr" not in str(error.value)


def test_values_cannot_inject_lines():
    ini = awsfiles.IniFile("[a]\n")
    with pytest.raises(ValueError):
        ini.set("a", {"x": "1\n[b]\ny = 2"})
    with pytest.raises(ValueError):
        ini.set("a", {"x = 1\n[b]": "2"})
    assert ini.text == "[a]\n"


@pytest.mark.parametrize("name", ["evil]\naws_access_key_id = AKIAEVIL\n[victim", "a]b", "[a", "a\rb", "a\nb", "", " prod", "prod ", "\tprod"])
def test_section_names_that_could_break_out_of_their_header_are_refused(name):
    ini = awsfiles.IniFile("[prod]\nregion = eu-west-1\n")
    for edit in (lambda: ini.set(name, {"region": "x"}), lambda: ini.remove(name), lambda: awsfiles.check_name(name)):
        with pytest.raises(ValueError, match=r"is refused: a name must not be empty, start or end with a blank, or contain"):
            edit()
    assert ini.text == "[prod]\nregion = eu-west-1\n"
    assert awsfiles.check_name("team a") == "team a" and awsfiles.check_name("profile prod") == "profile prod"


def test_update_creates_the_folder_0700_and_file_0600_and_never_writes_a_malformed_file(tmp_path):
    path = tmp_path / "home" / ".aws" / "credentials"
    assert awsfiles.update(str(path), lambda ini: ini.set("prod", {"x": "1"})) is True
    assert path.read_text() == "[prod]\nx = 1\n"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    path.write_text("[prod]\nx = 1\ngarbage\n")
    with pytest.raises(awsfiles.FileError, match="line 3"):
        awsfiles.update(str(path), lambda ini: ini.set("dev", {"y": "2"}))
    assert path.read_text() == "[prod]\nx = 1\ngarbage\n"


def test_check_mode_creates_locks_and_writes_nothing(tmp_path):
    path = tmp_path / "aws" / "credentials"
    seen = []
    assert awsfiles.update(str(path), lambda ini: ini.set("prod", {"x": "1"}) and not seen.append(ini.text), check_mode=True) is True
    assert seen == ["[prod]\nx = 1\n"]
    assert not (tmp_path / "aws").exists()


def _writer(path, prefix, count, failures):
    for i in range(count):
        name = f"{prefix}{i}"
        awsfiles.update(path, lambda ini, name=name: ini.set(name, {"aws_session_token": name * 20, "expiration": str(i)}))
        try:
            if name not in parsed(open(path).read()):
                failures.put(f"{name} missing right after its write")
        except configparser.Error as e:
            failures.put(f"unparsable after writing {name}: {e}")


def test_two_processes_refreshing_different_profiles_lose_nothing(tmp_path):
    path = str(tmp_path / "credentials")
    with open(path, "w") as f:
        f.write("# keep me\n[prod-long-term]\naws_access_key_id = A\n")
    failures = multiprocessing.Queue()
    writers = [multiprocessing.Process(target=_writer, args=(path, prefix, 200, failures)) for prefix in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    assert failures.empty(), failures.get()
    sections = parsed(open(path).read())
    assert set(sections) == {"prod-long-term"} | {f"{p}{i}" for p in "ab" for i in range(200)}
    assert open(path).read().startswith("# keep me\n[prod-long-term]\naws_access_key_id = A\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


KILLED_WRITER = """
import sys
from ansible_collections.awssec.mfa.plugins.module_utils import awsfiles
path, start = sys.argv[1], int(sys.argv[2])
for i in range(start, start + 100000):
    awsfiles.update(path, lambda ini: ini.set(f"s{i}", {"aws_session_token": "t" * 4000}))
    print(f"s{i}", flush=True)
"""


def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[prod-long-term]\naws_access_key_id = A\n" + "".join(f"[old{i}]\nx = {'v' * 2000}\n" for i in range(200)))
    confirmed = {"prod-long-term"} | {f"old{i}" for i in range(200)}
    rng = random.Random(7)
    start = 0
    for round_number in range(12):
        writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(start)], stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ))
        confirmed.add(writer.stdout.readline().strip())  # the writer is in its loop: kill it at a random point of a later write
        time.sleep(rng.random() * 0.3)
        writer.send_signal(signal.SIGKILL)
        out, dummy = writer.communicate()
        confirmed.update(out.split())
        sections = parsed(path.read_text())  # raises if the file is torn
        assert confirmed <= set(sections), f"round {round_number}: lost {sorted(confirmed - set(sections))[:3]}"
        start += 100000
    assert len(confirmed) >= 201 + 12  # every writer got through at least one write before being killed


def test_bare_cr_line_endings_are_lines_as_botocore_reads_them(tmp_path):
    path = tmp_path / "credentials"
    path.write_bytes(b"# mac\r[prod]\raws_access_key_id = A\r\r[target]\rx = 1\r")
    awsfiles.update(str(path), lambda ini: ini.set("target", {"x": "2", "y": "3"}))
    assert path.read_bytes() == b"# mac\r[prod]\raws_access_key_id = A\r\r[target]\rx = 2\ry = 3\r"
    parser = configparser.RawConfigParser()
    assert parser.read(str(path)) and dict(parser.items("target")) == {"x": "2", "y": "3"}  # open(): universal newlines
    awsfiles.update(str(path), lambda ini: ini.set("new", {"z": "4"}))
    assert path.read_bytes().endswith(b"y = 3\r\r[new]\rz = 4\r")


def test_a_symlink_is_followed_and_kept_even_when_dangling(tmp_path):
    dotfiles, aws = tmp_path / "dotfiles", tmp_path / "home" / ".aws"
    dotfiles.mkdir()
    aws.mkdir(parents=True)
    target = dotfiles / "aws-credentials"
    target.write_text("[prod]\naws_session_token = old\n")
    link = aws / "credentials"
    link.symlink_to("../../dotfiles/aws-credentials")
    awsfiles.update(str(link), lambda ini: ini.set("prod", {"aws_session_token": "new"}))
    assert link.is_symlink() and os.readlink(link) == "../../dotfiles/aws-credentials"
    assert target.read_text() == "[prod]\naws_session_token = new\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not list(aws.glob(".credentials.*")) and not (aws / "credentials.lock").exists()  # worked in the target's folder

    dangling = aws / "config"
    dangling.symlink_to("../../dotfiles/aws-config")
    awsfiles.update(str(dangling), lambda ini: ini.set("default", {"region": "eu-west-1"}))
    assert dangling.is_symlink() and (dotfiles / "aws-config").read_text() == "[default]\nregion = eu-west-1\n"


def test_temporary_files_a_killed_writer_left_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[prod]\nx = 1\n")
    stale = tmp_path / ".credentials.k1ll3d.tmp"
    stale.write_text("[prod]\naws_secret_access_key = left-behind\n")
    other = tmp_path / ".config.k1ll3d.tmp"  # another file's: not ours to remove
    other.write_text("x")
    awsfiles.update(str(path), lambda ini: ini.set("prod", {"x": "2"}))
    assert not stale.exists() and other.exists() and path.read_text() == "[prod]\nx = 2\n"


def test_a_read_only_file_is_refused_and_kept(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[prod]\nx = 1\n")
    path.chmod(0o400)
    with pytest.raises(awsfiles.FileError, match=r"credentials: the file is read-only \(mode 0400\): nothing was written"):
        awsfiles.update(str(path), lambda ini: ini.set("prod", {"x": "2"}))
    assert path.read_text() == "[prod]\nx = 1\n" and stat.S_IMODE(path.stat().st_mode) == 0o400
    assert awsfiles.update(str(path), lambda ini: ini.set("prod", {"x": "1"})) is False  # no change asked: no refusal


@pytest.mark.parametrize("section, profile", [("default", "default"), ("profile prod", "prod"), ('profile "prod"', "prod"),
                                              ("profile 'team a'", "team a"), ("profile   prod", "prod"), ("profile team a", None),
                                              ("prod", None), ("sso-session x", None), ("profile 'unclosed", None)])
def test_config_sections_name_profiles_as_botocore_reads_them(section, profile):
    assert awsfiles.profile_of_section(section) == profile


def test_the_config_section_of_a_profile_is_the_one_botocore_reads_or_the_one_aws_cli_writes():
    ini = awsfiles.IniFile('[profile "prod"]\nregion = eu-west-1\n[profile dev]\n')
    assert awsfiles.config_section(ini, "prod") == 'profile "prod"'
    assert awsfiles.config_section(ini, "dev") == "profile dev"
    assert awsfiles.config_section(ini, "team a") == "profile 'team a'"
    assert awsfiles.config_section(ini, "qa") == "profile qa" and awsfiles.config_section(ini, "default") == "default"
    ini.set(awsfiles.config_section(ini, "prod"), {"mfa_serial": "arn:aws:iam::1:mfa/a"})
    assert ini.text.startswith('[profile "prod"]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::1:mfa/a\n')
    ini.set('profile "ops"', {"region": "eu-west-2"})  # what an edit adds is found at once
    assert awsfiles.config_section(ini, "ops") == 'profile "ops"'
    ini.remove('profile "prod"')
    assert awsfiles.config_section(ini, "prod") == "profile prod"


def test_nested_values_are_written_as_botocore_reads_them(tmp_path):
    from botocore.configloader import raw_config_parse

    path = tmp_path / "config"
    path.write_text("[profile prod]\nregion = eu-west-1\ns3 =\n  addressing_style = path\noutput = json\n")
    awsfiles.update(str(path), lambda ini: ini.set("profile prod", {"s3": {"signature_version": "s3v4"}, "sts": {"a": "1", "b": "2"}}))
    assert path.read_text() == ("[profile prod]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n  signature_version = s3v4\n"
                                "output = json\nsts =\n    a = 1\n    b = 2\n")  # merged into s3, indented like its sub-keys
    assert raw_config_parse(str(path))["profile prod"]["s3"] == {"addressing_style": "path", "signature_version": "s3v4"}
    awsfiles.update(str(path), lambda ini: ini.set("profile prod", {"s3": "plain"}))  # a plain value replaces a nested one
    assert raw_config_parse(str(path))["profile prod"]["s3"] == "plain"
    for bad in ({"s3": {"x": {"deeper": "1"}}}, {"s3": {"x": "1\n[evil]"}}, {"s3": {"x y": "1"}}):
        with pytest.raises(ValueError, match="a nested value one level of key = value"):
            awsfiles.IniFile("").set("profile prod", bad)


def test_a_change_made_by_another_writer_during_the_edit_is_kept_and_the_edit_made_again(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    edits = []

    def edit(ini):
        if not edits:  # the aws CLI rewrites the file in place, without the lock, while this edit is made
            with open(path, "r+") as f:
                f.write("[a]\nx = 1\n[cli]\ny = 2\n")
        edits.append(ini.text)
        return ini.set("ours", {"z": "3"})

    assert awsfiles.update(str(path), edit) is True
    assert edits == ["[a]\nx = 1\n", "[a]\nx = 1\n[cli]\ny = 2\n"]
    assert path.read_text() == "[a]\nx = 1\n[cli]\ny = 2\n\n[ours]\nz = 3\n"


def test_a_write_into_the_file_just_replaced_is_edited_again(tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    replaced = []

    def replace(source, destination, real=os.replace):
        late = None if replaced else open(destination, "r+")  # opened before the rename by a writer without a lock
        real(source, destination)
        replaced.append(destination)
        if late:
            late.write("[a]\nx = 1\n[cli]\ny = 2\n")  # ... which writes after it, into the replaced file
            late.close()

    monkeypatch.setattr(awsfiles.os, "replace", replace)
    assert awsfiles.update(str(path), lambda ini: ini.set("ours", {"z": "3"})) is True
    assert len(replaced) == 2 and path.read_text() == "[a]\nx = 1\n[cli]\ny = 2\n\n[ours]\nz = 3\n"


def test_a_file_read_while_another_writer_rewrites_it_is_read_again_until_it_settles(tmp_path):
    reads = iter([b"", b"[a]\nx", b"[a]\nx = 1\n", b"[a]\nx = 1\n"])  # truncated, half-written, whole, whole
    assert awsfiles._settled(str(tmp_path / "f"), lambda: next(reads)) == b"[a]\nx = 1\n"  # pylint: disable=protected-access
    with pytest.raises(awsfiles.FileError, match="another program kept changing the file"):
        counter = iter(range(1000))
        awsfiles._settled(str(tmp_path / "f"), lambda: str(next(counter)).encode())  # pylint: disable=protected-access
