"""The HTML window report in a real browser: headless Chromium (Debian's ``chromium`` package, which
``make test`` installs) parses the page into the expected DOM and paints the timeline's bars."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib

import pytest

from ansible_collections.mailops.window.plugins.plugin_utils._render_html import STATE_COLOURS, render_html
from test_window_html import build_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 1400, 1000


@pytest.fixture(scope="module")
def chromium():
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: install Debian's chromium package (apt-get install -y chromium; make test installs it)")
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "window-report.html"
    path.write_text(render_html(build_report()), encoding="utf-8")
    return path


def run_chromium(chromium, profile, *args):
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=%s" % profile] + list(args)
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180, check=False)
    assert done.returncode == 0, "chromium failed (rc %d): %s" % (done.returncode, done.stderr[-2000:])
    return done.stdout


def png_pixels(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == PNG_MAGIC
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, dummy_compression, dummy_filter, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride, rows, prior = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prior[i], (prior[i - channels] if i >= channels else 0)
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        prior = line
    return width, height, rows


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_the_dom_chromium_builds_has_the_lanes_and_bars(chromium, page, tmp_path):
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert "<svg" in dom and "</html>" in dom
    for lane in ("mail", "storage", "all"):
        assert dom.count('data-lane="%s"' % lane) == 1, lane
    assert dom.index('data-lane="mail"') < dom.index('data-lane="storage"') < dom.index('data-lane="all"')
    assert dom.count('class="bar actual state-') == 12  # 10 phases that ran, 2 skipped drawn hatched
    assert dom.count('class="bar planned"') == 10
    assert '<g class="limit window-budget">' in dom and '<g class="limit contingency">' in dom
    assert "<script" not in dom and "&lt;script&gt;alert(" in dom


def test_the_screenshot_shows_the_timeline(chromium, page, tmp_path):
    png = tmp_path / "window-report.png"
    run_chromium(chromium, tmp_path / "profile", "--screenshot=%s" % png, "--window-size=%d,%d" % (WIDTH, HEIGHT), page.as_uri())
    assert png.is_file(), "chromium wrote no screenshot"
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG: %r" % data[:8]
    assert len(data) > 30000, "a %d-byte screenshot is too small to show a report" % len(data)
    width, height, rows = png_pixels(data)
    assert (width, height) == (WIDTH, HEIGHT)
    seen = {}
    for row in rows:
        for pixel in row:
            seen[pixel] = seen.get(pixel, 0) + 1
    # the bars are painted: a solid area of each state's colour (a 12px high bar is at least 3px wide)
    for state in ("finished", "overrun", "failed", "rolled_back"):
        assert seen.get(rgb(STATE_COLOURS[state]), 0) >= 30, "no %s bar in the screenshot" % state
    assert seen.get((255, 255, 255), 0) < width * height * 0.9, "the screenshot is almost blank"
