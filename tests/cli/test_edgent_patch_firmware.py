"""``pinbase edgent patch-firmware`` as a subprocess, on synthetic ESP32 images (§2.6)."""

from pathlib import Path

from esp_images import BLNKOPT_BLOCK, esp32_image, is_valid_esp32
from pinbase.testing import run_cli

TOKEN = "xw7ITVneg1DifRRQuPGcA7fJvV8-FAVl"


def patch(firmware: Path, output: Path, *extra: str) -> tuple[int, str, str]:
    """Run the command; its exit code, stdout and stderr."""
    done = run_cli(
        "edgent", "patch-firmware", str(firmware), "--output", str(output),
        "--token", TOKEN, "--wifi-ssid", "HomeNet", "--host", "pinbase.lan", *extra,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_a_patched_esp32_image_is_valid_and_as_long(tmp_path: Path) -> None:
    """The copy holds the values, passes esptool's checks and has the original's length; the
    original file is unchanged."""
    original = esp32_image(b"\x01" * 100 + BLNKOPT_BLOCK)
    firmware, output = tmp_path / "edgent.bin", tmp_path / "garage.bin"
    firmware.write_bytes(original)
    code, out, err = patch(firmware, output, "--wifi-pass", "hunter22", "--port", "443")
    assert code == 0, err
    patched = output.read_bytes()
    assert len(patched) == len(original)
    assert is_valid_esp32(patched)
    assert b"auth\x00" + TOKEN.encode() + b"\x00host\x00pinbase.lan\x00port\x00443\x00" in patched
    assert firmware.read_bytes() == original
    assert "it was host blynk.cloud, port 443" in out
    assert "updated the checksum and SHA-256 of the ESP32 image at offset 0x0" in out
    assert output.stat().st_mode & 0o077 == 0  # it holds a token and a Wi-Fi password


def test_a_file_without_block_and_an_existing_output_are_one_line(tmp_path: Path) -> None:
    """A file that is not Edgent firmware, or an output that exists: exit 1, one line."""
    firmware, output = tmp_path / "other.bin", tmp_path / "out.bin"
    firmware.write_bytes(b"\x00" * 256)
    code, _, err = patch(firmware, output)
    assert code == 1
    assert err.strip() == f"pinbase: {firmware}: no blnkopt block: is this Blynk.Edgent firmware?"
    assert not output.exists()

    firmware.write_bytes(BLNKOPT_BLOCK)
    output.write_bytes(b"keep")
    code, _, err = patch(firmware, output)
    assert code == 1
    assert err.startswith(f"pinbase: cannot write {output}: File exists")
    assert output.read_bytes() == b"keep"
    code, _, err = patch(tmp_path / "missing.bin", tmp_path / "x.bin")
    assert (code, err.strip()) == (
        1,
        f"pinbase: cannot read {tmp_path / 'missing.bin'}: No such file or directory",
    )
