"""Version families: the leading components must match exactly."""

import pytest

from ansible_collections.mailops.window.plugins.test.in_family import in_family


@pytest.mark.parametrize(
    "version,family,expected",
    [
        ("4.2.16-5", "4.2", True),
        ("T4.2.16.5", "4.2", True),
        ("5.1.23-2", "5.1", True),
        ("5.1.23-2", "4.2", False),
        ("5.10.1", "5.1", False),
        ("6.7.19", "6.7.19", True),
        ("6.7.19", "6.7.19.1", False),
        ("6.7.19.1", "6.7.19", True),
        (None, "4.2", False),
        ("", "4.2", False),
        ("garbage", "4.2", False),
    ],
)
def test_in_family(version, family, expected):
    assert in_family(version, family) is expected


def test_a_family_that_is_not_a_version_is_an_error():
    with pytest.raises(ValueError):
        in_family("4.2.16-5", "latest")
