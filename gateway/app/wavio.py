"""WAV files in and out of the phone format (PCM16 mono 8 kHz), and caller speech via espeak-ng."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from gateway.core.audio._audioop import audioop
from gateway.core.audio.transcode import PHONE_RATE
from gateway.errors import AudioError

__all__ = ["read_wav_phone", "rms_dbfs", "speak", "write_wav_phone"]


def read_wav_phone(path: str | Path) -> bytes:
    """A WAV file (any rate, mono/stereo, 8/16-bit) as PCM16 mono 8 kHz."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            data = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise AudioError(f"cannot read {path}: {exc}") from None
    if width == 1:
        data = audioop.bias(audioop.lin2lin(data, 1, 2), 2, 0)  # 8-bit WAV is unsigned
    elif width != 2:
        data = audioop.lin2lin(data, width, 2)
    if channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    elif channels != 1:
        raise AudioError(f"{path}: {channels} channels not supported")
    if rate != PHONE_RATE:
        data, _ = audioop.ratecv(data, 2, 1, rate, PHONE_RATE, None)
    return data


def write_wav_phone(path: str | Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(PHONE_RATE)
        wav.writeframes(pcm)


def rms_dbfs(pcm: bytes) -> float:
    """RMS level of PCM16 audio in dBFS (-inf for digital silence)."""
    if len(pcm) < 2:
        return float("-inf")
    rms = audioop.rms(pcm[: len(pcm) - len(pcm) % 2], 2)
    if rms <= 0:
        return float("-inf")
    import math  # noqa: PLC0415

    return 20 * math.log10(rms / 32768)


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> bytes:
    """``text`` spoken by espeak-ng, as PCM16 mono 8 kHz (needs the Debian espeak-ng)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise AudioError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "line.wav"
        subprocess.run(  # noqa: S603  (fixed executable, text passed as one argument)
            [exe, "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return read_wav_phone(out)
