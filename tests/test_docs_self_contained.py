"""The docs stand on their own: no link or path that leaves the repository, and every relative
link in docs/ and the README points at a file that exists in it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
OUTSIDE = re.compile(r"\.\./shared|(?<![\w-])seeds/|shared decision|\.\./\.\./|references/[\w-]+\.md")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_path_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert [m.group(0) for m in OUTSIDE.finditer(text)] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(doc):
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path = (doc.parent / target).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert broken == []


def test_the_check_sees_an_outside_path():
    assert OUTSIDE.search("see ../shared/decisions.md") and OUTSIDE.search("(seeds/004)")
    assert not OUTSIDE.search("product decision P15")
