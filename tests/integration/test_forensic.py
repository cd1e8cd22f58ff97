"""Forensic per-viewer mark through the CLI: a clip made here is marked, then re-encoded by the
ffmpeg CLI at a low bitrate and scaled down to 480p, as a leak would be; ``identify`` recovers
the exact viewer id, and a different key finds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWER = 0x1234ABCD5678EF01
KEY = "forensic-test-key"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def teezu(*args: str) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "teezu.cli", *args)


def ffprobe(path: Path) -> dict:
    out = run("ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path))
    assert out.returncode == 0, out.stderr
    return {s["codec_type"]: s for s in json.loads(out.stdout)["streams"]}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("forensic")
    src, marked, leak = d / "src.mp4", d / "marked.mp4", d / "leak.mp4"
    made = run(
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(src),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    applied = teezu("watermark", "apply", str(src), str(marked), "--viewer", hex(VIEWER),
                    "--key", KEY)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert f"marked 120 frames for viewer {VIEWER}" in applied.stdout
    # The leak: another encoder, a quarter of the bitrate, scaled to 480p.
    leaked = run(
        "ffmpeg", "-v", "error", "-i", str(marked), "-vf", "scale=854:480",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "500k", "-c:a", "copy", str(leak),
    )  # fmt: skip
    assert leaked.returncode == 0, leaked.stderr
    return {"src": src, "marked": marked, "leak": leak}


def test_marked_copy_keeps_its_streams(clips):
    src, marked = ffprobe(clips["src"]), ffprobe(clips["marked"])
    assert (marked["video"]["width"], marked["video"]["height"]) == (1280, 720)
    assert marked["video"]["codec_name"] == "h264" and marked["audio"]["codec_name"] == "aac"
    assert marked["audio"]["sample_rate"] == src["audio"]["sample_rate"]


def test_identify_recovers_the_viewer_after_reencode_and_downscale(clips):
    assert ffprobe(clips["leak"])["video"]["height"] == 480
    found = teezu("watermark", "identify", str(clips["leak"]), "--key", KEY)
    assert found.returncode == 0, found.stdout + found.stderr
    assert found.stdout.startswith(f"viewer {VIEWER} ")
    print("\n" + found.stdout.strip())


def test_a_different_key_or_an_unmarked_clip_finds_nothing(clips):
    other = teezu("watermark", "identify", str(clips["leak"]), "--key", "another-key")
    assert other.returncode == 1 and "no forensic mark found" in other.stdout
    clean = teezu("watermark", "identify", str(clips["src"]), "--key", KEY)
    assert clean.returncode == 1 and "no forensic mark found" in clean.stdout


def test_bad_input_is_refused(clips, tmp_path):
    bad = teezu("watermark", "apply", str(clips["src"]), str(tmp_path / "x.mp4"),
                "--viewer", "not-a-viewer", "--key", KEY)  # fmt: skip
    assert bad.returncode == 2 and "error:" in bad.stderr
    missing = teezu("watermark", "identify", str(tmp_path / "nope.mp4"), "--key", KEY)
    assert missing.returncode == 2 and "error:" in missing.stderr
