"""The command line starts quickly: listing options must not load torch or any network."""
import subprocess
import sys


def test_cli_start_up_does_not_import_torch():
    code = "import sys, bian.cli; bian.cli.build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_version_and_help():
    from bian import __version__
    out = subprocess.run([sys.executable, "-m", "bian.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"bian {__version__}"
    out = subprocess.run([sys.executable, "-m", "bian.cli", "restore", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--segment-seconds" in out.stdout and "--fresh" in out.stdout
