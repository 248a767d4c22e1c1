# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test: does a full version belong to a version family ('4.2.16-5' is in family '4.2')."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
---
name: in_family
short_description: Whether a version belongs to a version family
version_added: "0.1.0"
description:
  - True when the leading dotted components of the version equal the family.
  - Understands Celerra Control Station versions (C(4.2.16-5)), data mover versions (C(T4.2.16.5)) and
    CPMS versions (C(6.7.19.1)). A build suffix after C(-) counts as one more component.
  - C(6.7.19) is not in family C(6.7.19.1), and C(5.10.1) is not in family C(5.1).
options:
  _input:
    description: The full version. Null or empty is in no family.
    type: str
    required: true
  family:
    description: The family, dotted numbers such as C(5.1).
    type: str
    required: true
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Is the Control Station on 5.1?
  ansible.builtin.assert:
    that: celerra.control_station.version is mailops.window.in_family('5.1')
"""

RETURN = r"""
_value:
  description: Whether the version is in the family.
  type: bool
"""

_COMPONENTS = re.compile(r"^[Tt]?(\d+(?:[.-]\d+)*)$")


def components(version):
    """The numeric components of a version, or None when it is not a version."""
    match = _COMPONENTS.match(str(version).strip())
    if not match:
        return None
    return re.split(r"[.-]", match.group(1))


def in_family(version, family):
    """True when the version's leading components equal the family's."""
    if version is None or str(version).strip() == "":
        return False
    have = components(version)
    want = components(family)
    if want is None:
        raise ValueError("in_family: %r is not a version family" % (family,))
    return have is not None and have[: len(want)] == want


class TestModule:
    """Jinja tests of the collection."""

    def tests(self):
        return {"in_family": in_family}
