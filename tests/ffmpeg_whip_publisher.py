"""A WHIP publisher through FFmpeg's own WHIP muxer (FFmpeg 8, as bundled in PyAV's wheels).

    python tests/ffmpeg_whip_publisher.py URL TOKEN SECONDS [CERT_PEM KEY_PEM]

Encodes a moving test picture (H.264 baseline, no B-frames, as the muxer needs) and a tone
(Opus) in real time and hands the packets to ``av.open(URL, "w", format="whip")``, i.e. to
libavformat's ``whip`` muxer, which does the HTTP POST/DELETE, ICE, DTLS and SRTP itself. With
CERT_PEM/KEY_PEM it uses that certificate (``cert_file``/``key_file``); without them FFmpeg
makes its own. Runs in its own process (the muxer blocks); prints one JSON line at the end.
"""

from __future__ import annotations

import fractions
import json
import logging
import sys
import time

import av
import numpy as np


def main() -> None:
    url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    options = {"authorization": token}
    if len(sys.argv) > 5:
        options |= {"cert_file": sys.argv[4], "key_file": sys.argv[5]}
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    av.logging.set_level(av.logging.WARNING)  # FFmpeg says why a handshake failed
    report: dict = {"video_packets": 0, "audio_packets": 0}
    fps, width, height = 30, 640, 360
    try:
        out = av.open(url, "w", format="whip", options=options)
    except av.FFmpegError as exc:
        report["error"] = f"open: {exc}"
        print(json.dumps(report), flush=True)
        return
    try:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = 800_000
        video.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0",
        }
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "stereo"
        audio.bit_rate = 64_000
        start = time.monotonic()
        samples = 0
        frame_no = 0
        x = np.arange(width, dtype=np.uint16)
        while time.monotonic() - start < seconds:
            # Video: a gradient with a moving bar.
            luma = ((x[None, :] + frame_no * 4) % 256).astype(np.uint8).repeat(height, 0)
            bar = (frame_no * 8) % (width - 40)
            luma[:, bar : bar + 40] = 235
            plane = np.empty((height * 3 // 2, width), dtype=np.uint8)
            plane[:height] = luma
            plane[height:] = 128
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            frame.pts = frame_no
            frame.time_base = fractions.Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
                report["video_packets"] += 1
            frame_no += 1
            # Audio up to the same instant, in 20 ms frames.
            while samples < frame_no * 48000 // fps:
                t = np.arange(samples, samples + 960) / 48000.0
                pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
                aframe = av.AudioFrame.from_ndarray(
                    np.repeat(pcm, 2)[None, :], format="s16", layout="stereo"
                )
                aframe.sample_rate = 48000
                aframe.pts = samples
                aframe.time_base = fractions.Fraction(1, 48000)
                samples += 960
                for packet in audio.encode(aframe):
                    out.mux(packet)
                    report["audio_packets"] += 1
            wait = start + frame_no / fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        report["published_seconds"] = time.monotonic() - start
    except av.FFmpegError as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            out.close()  # the muxer's trailer: DELETE of the session
        except av.FFmpegError as exc:
            report.setdefault("error", f"close: {exc}")
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
