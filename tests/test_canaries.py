"""Canaries for the library internals we use: pyttsx3 (drivers/tts_worker.py) and python-escpos (drivers/escpos_*.py,
drivers/ticket_escpos.py).

Both are pinned exactly in pyproject.toml because the hall reaches past their public interface. Each test here
checks one internal we rely on — by introspection (``hasattr``, ``inspect.signature``) and by a tiny real use —
and fails with a message that names the internal, the file that relies on it and why, so whoever moves a pin
knows what to re-check. The list of internals is also in the modules' docstrings and in docs/voice.md and
docs/printer.md.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from kiosk.drivers import escpos_connect, escpos_lib
from kiosk.drivers.escpos_lib import Dummy, Escpos, EscposImage, File, Network, Serial, Usb, escpos_errors

ROOT = Path(__file__).resolve().parent.parent
PYTTSX3 = importlib.metadata.version("pyttsx3")
ESCPOS = importlib.metadata.version("python-escpos")
EXACT = {"pyttsx3": "drivers/tts_worker.py", "python-escpos": "drivers/escpos_lib.py"}


def changed(library: str, internal: str, user: str, why: str) -> str:
    """The failure message: which internal changed, who relies on it and for what."""
    version = PYTTSX3 if library == "pyttsx3" else ESCPOS
    return (f"{library} {version}: {internal} is not what it was: {user} relies on it ({why}); "
            "re-check before moving the pin in pyproject.toml")


def test_the_libraries_whose_internals_we_use_are_pinned_exactly_to_what_is_installed():
    """pyproject.toml pins pyttsx3 and python-escpos with ``==``, and the installed versions are those pins (so the
    canaries below ran against the version a hall PC gets)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0].strip(): d.split("==")[1].strip() for d in deps if "==" in d}
    for library, user in EXACT.items():
        assert library in pins, f"{library} must be pinned exactly (==) in pyproject.toml: {user} uses its internals"
        assert importlib.metadata.version(library) == pins[library], (
            f"{library} {importlib.metadata.version(library)} is installed, but pyproject.toml pins "
            f"{pins[library]}: run make (which installs the lock) or move the pin after the canaries pass")


# -- pyttsx3 -----------------------------------------------------------------------------------------------------

def test_pyttsx3_espeak_binding_has_what_the_worker_sets_up_espeak_ng_with():
    """pyttsx3.drivers._espeak still offers Initialize(output, bufflength), SetSynthCallback(cb), the synchronous
    output mode, the EVENT structure's ``type`` and the two event codes the worker sends."""
    from pyttsx3.drivers import _espeak
    user = "drivers/tts_worker.py init_engine"
    assert callable(getattr(_espeak, "Initialize", None)), changed(
        "pyttsx3", "_espeak.Initialize", user, "it initializes espeak-ng in synchronous mode before pyttsx3 does")
    assert getattr(_espeak, "AUDIO_OUTPUT_SYNCHRONOUS", None) == 2, changed(
        "pyttsx3", "_espeak.AUDIO_OUTPUT_SYNCHRONOUS (espeak-ng's value 2)", user,
        "synchronous mode makes each job whole inside runAndWait")
    set_cb = getattr(_espeak, "SetSynthCallback", None)
    assert callable(set_cb) and list(inspect.signature(set_cb).parameters) == ["cb"], changed(
        "pyttsx3", "_espeak.SetSynthCallback(cb)", user, "it wraps the driver's synth callback")
    fields = [name for name, *_ in getattr(_espeak.EVENT, "_fields_", ())]
    assert "type" in fields, changed("pyttsx3", "_espeak.EVENT.type", "drivers/tts_worker.py _synchronous_callback",
                                     "it builds the \"message terminated\" event")
    codes = (getattr(_espeak, "EVENT_LIST_TERMINATED", None), getattr(_espeak, "EVENT_MSG_TERMINATED", None))
    assert codes == (0, 6), changed("pyttsx3", "_espeak.EVENT_LIST_TERMINATED / EVENT_MSG_TERMINATED (0 / 6)",
                                    "drivers/tts_worker.py _synchronous_callback",
                                    "they mark the end of a synchronous message")


def test_pyttsx3_espeak_driver_keeps_its_once_per_process_guard_and_synth_callback():
    """EspeakDriver still has the class attributes ``_moduleInitialized`` and ``_defaultVoice``, its __init__
    still consults the guard before its own Initialize, and ``_onSynth(wav, numsamples, events)`` is there."""
    from pyttsx3.drivers.espeak import EspeakDriver
    user = "drivers/tts_worker.py init_engine"
    assert isinstance(getattr(EspeakDriver, "_moduleInitialized", None), bool), changed(
        "pyttsx3", "EspeakDriver._moduleInitialized", user,
        "setting it stops pyttsx3 from initializing espeak-ng again in retrieval mode")
    assert isinstance(getattr(EspeakDriver, "_defaultVoice", None), str), changed(
        "pyttsx3", "EspeakDriver._defaultVoice", user, "it is set where pyttsx3 would have set it")
    assert "if not EspeakDriver._moduleInitialized:" in inspect.getsource(EspeakDriver.__init__), changed(
        "pyttsx3", "EspeakDriver.__init__'s check of _moduleInitialized", user,
        "without it pyttsx3 re-initializes espeak-ng in retrieval mode, where a job's WAV can come out empty")
    on_synth = getattr(EspeakDriver, "_onSynth", None)
    assert on_synth is not None and list(inspect.signature(on_synth).parameters) == [
        "self", "wav", "numsamples", "events"], changed(
        "pyttsx3", "EspeakDriver._onSynth(wav, numsamples, events)", "drivers/tts_worker.py _synchronous_callback",
        "it is called for every chunk and once more with the \"message terminated\" event")


# Run in its own process: espeak-ng can be initialized once per process, and the test process must not be it.
REAL_USE = r"""
import json, os, sys, threading
from pyttsx3.drivers import _espeak
from pyttsx3.drivers.espeak import EspeakDriver

initialized = []
real_initialize = _espeak.Initialize
_espeak.Initialize = lambda *args: initialized.append(list(args)) or real_initialize(*args)
import kiosk.drivers.tts_worker as worker
from kiosk.drivers.tts_worker import init_engine, synth
worker.FINISH_TIMEOUT_S = 5.0   # a job that never finishes fails here instead of hanging the canary
engine = init_engine()
out = {"initialized": initialized, "driver": type(getattr(engine.proxy, "_driver", None)).__name__}

# Synchronous mode: Synth returns only after every callback ran, on the calling thread.
seen = []
def record(wav, numsamples, events):
    seen.append((numsamples, threading.get_ident()))
    return 0
_espeak.SetSynthCallback(record)
_espeak.Synth(b"one two three", flags=_espeak.CHARS_UTF8)
out["samples_at_return"] = sum(n for n, _ in seen)
out["ended_at_return"] = bool(seen) and seen[-1][0] == 0
out["other_threads"] = sorted({t for _, t in seen} - {threading.get_ident()})

engine = init_engine()   # the same engine (pyttsx3 keeps one per driver), with the worker's callback again
finished = threading.Event()
engine.connect("finished-utterance", lambda **_: finished.set())
out["synth"] = [synth(engine, finished, {"text": text, "voice": "en-us", "rate": 150, "volume": 1.0,
                                         "path": os.path.join(sys.argv[1], f"{i}.wav")})
                for i, text in enumerate(["one", "ticket A-zero zero one, please go to counter three"])]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def pyttsx3_in_use(tmp_path_factory) -> dict:
    """What the worker's set-up and two jobs did in a process of their own (see REAL_USE)."""
    folder = tmp_path_factory.mktemp("canary-wav")
    try:
        done = subprocess.run([sys.executable, "-c", REAL_USE, str(folder)], capture_output=True, text=True,
                              timeout=30, cwd=folder)   # the installed package, not a folder of the checkout
    except subprocess.TimeoutExpired:
        pytest.fail(changed("pyttsx3", "the engine set-up of drivers/tts_worker.py", "the voice",
                            "init_engine and two jobs hung for 30 s (they take well under a second)"))
    assert done.returncode == 0, changed("pyttsx3", "the engine set-up of drivers/tts_worker.py", "the voice",
                                         f"init_engine and synth must run: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pyttsx3_does_not_initialize_espeak_ng_again_after_the_worker_did(pyttsx3_in_use):
    """The worker's init_engine calls Initialize once, in synchronous mode with 1000 ms buffers; pyttsx3's own
    engine start (twice) adds no call of its own, and the engine's driver is reached as ``engine.proxy._driver``."""
    assert pyttsx3_in_use["initialized"] == [[2, 1000]], changed(
        "pyttsx3", "EspeakDriver's once-per-process guard (_moduleInitialized)", "drivers/tts_worker.py init_engine",
        f"espeak-ng was initialized {pyttsx3_in_use['initialized']} instead of once, synchronously")
    assert pyttsx3_in_use["driver"] == "EspeakDriver", changed(
        "pyttsx3", "Engine.proxy._driver", "drivers/tts_worker.py init_engine",
        "the worker's callback wraps that driver's _onSynth")


def test_espeak_ng_synthesizes_synchronously_on_the_calling_thread(pyttsx3_in_use):
    """After the worker's set-up, espeak-ng's Synth returns with every sample delivered (the closing empty
    callback included), all on the thread that called it: the mode the worker's jobs depend on."""
    assert pyttsx3_in_use["samples_at_return"] > 1000 and pyttsx3_in_use["ended_at_return"], changed(
        "pyttsx3", "_espeak.Initialize(AUDIO_OUTPUT_SYNCHRONOUS, ...)", "drivers/tts_worker.py",
        "Synth returned before the message was synthesized: espeak-ng is not in synchronous mode")
    assert pyttsx3_in_use["other_threads"] == [], changed(
        "pyttsx3", "_espeak synchronous mode", "drivers/tts_worker.py", "callbacks came on espeak-ng's own thread")


def test_the_worker_turns_two_jobs_into_two_whole_wavs(pyttsx3_in_use):
    """The worker's synth, as the daemon asks for it, answers ok for a short and a long sentence with the en-us
    voice, each WAV holding its own sentence (the longer one has more frames)."""
    short, long = pyttsx3_in_use["synth"]
    assert short["ok"] and long["ok"], changed(
        "pyttsx3", "save_to_file + runAndWait with the worker's _onSynth wrapper", "drivers/tts_worker.py synth",
        f"a job failed: {short} {long}")
    assert short["voice"].endswith("en-us") and 0 < short["frames"] < long["frames"], changed(
        "pyttsx3", "EspeakDriver._onSynth writing the WAV on \"message terminated\"", "drivers/tts_worker.py synth",
        f"the WAVs do not hold their own sentences: {short} {long}")


# -- python-escpos ----------------------------------------------------------------------------------------------

def test_escpos_raw_is_the_one_write_and_dummy_output_collects_it():
    """Escpos._raw(msg) is still the abstract write every transport implements, and a Dummy with a named profile
    returns what was written through it, in order, as its ``output``."""
    assert getattr(Escpos._raw, "__isabstractmethod__", False) and list(
        inspect.signature(Escpos._raw).parameters) == ["self", "msg"], changed(
        "python-escpos", "Escpos._raw(msg)", "drivers/ticket_escpos.py and drivers/escpos_printer.py",
        "our bytes (INIT, Chinese mode, raster images, status queries) are written with it")
    dummy = Dummy(profile="default")
    dummy._raw(b"\x1b@")
    dummy._raw(b"A001\n")
    assert dummy.output == b"\x1b@A001\n", changed(
        "python-escpos", "Dummy.output", "drivers/ticket_escpos.py", "a ticket is rendered into a Dummy")


def test_escpos_profiles_answer_the_cutter_question():
    """A printer's profile object has ``supports(feature)``, which knows the features paperFullCut and
    paperPartCut (the default profile has a cutter, the simple one does not)."""
    default, simple = Dummy(profile="default").profile, Dummy(profile="simple").profile
    assert callable(getattr(default, "supports", None)), changed(
        "python-escpos", "profile.supports(feature)", "drivers/ticket_escpos.py _finish",
        "it decides whether escpos cut or only fed")
    assert default.supports("paperFullCut") and not simple.supports("paperFullCut"), changed(
        "python-escpos", "the capability feature paperFullCut", "drivers/ticket_escpos.py _finish",
        "a profile without a cutter makes escpos only feed, and we then send the cut ourselves")
    assert isinstance(default.supports("paperPartCut"), bool), changed(
        "python-escpos", "the capability feature paperPartCut", "drivers/ticket_escpos.py _finish", "as above")


def test_escpos_image_gives_the_raster_we_send_with_gs_v_0():
    """EscposImage of a 9 x 2 black image has width_bytes 2, height 2 and a 4-byte raster, all dots set."""
    image = EscposImage(Image.new("1", (9, 2), 0))
    assert (image.width_bytes, image.height) == (2, 2), changed(
        "python-escpos", "EscposImage.width_bytes / height", "drivers/ticket_escpos.py _line",
        "they are the GS v 0 header of a line printed as an image")
    assert image.to_raster_format() == b"\xff\x80\xff\x80", changed(
        "python-escpos", "EscposImage.to_raster_format()", "drivers/ticket_escpos.py _line",
        "its bytes follow the GS v 0 header")


def test_escpos_forgets_a_port_whose_device_is_set_to_false(tmp_path):
    """A File printer opened on a temp file: setting ``_device = False`` (what the port owner does after a close
    that failed) makes a later close(), and the one escpos's __del__ makes, leave the device alone; the class
    default is False and ``device`` is a property over it."""
    user = "drivers/escpos_printer.py PortOwner._close"
    assert Escpos._device is False and isinstance(inspect.getattr_static(Escpos, "device"), property), changed(
        "python-escpos", "Escpos._device (False: not initialized) and the device property", user,
        "False marks a port escpos must not close again")
    printer = File(str(tmp_path / "lp0"))
    printer.open()
    device = printer.device
    printer._device = False
    printer.close()
    del printer
    assert not device.closed, changed("python-escpos", "close() with _device = False", user,
                                      "escpos closed a port we had already let go of")
    device.close()


def test_escpos_serial_takes_a_pyserial_url_through_our_open():
    """UrlSerial (our Serial subclass) over ``loop://``: escpos's Serial keeps devfile, baudrate, timeout and
    dsrdtr for our open(raise_not_found), ``device`` is the pyserial port, _raw writes to it, and close() lets
    it go (``_device`` False again)."""
    params = inspect.signature(Serial.__init__).parameters
    assert {"devfile", "baudrate", "timeout", "dsrdtr"} <= set(params), changed(
        "python-escpos", "Serial.__init__(devfile, baudrate, timeout, dsrdtr)", "drivers/escpos_connect.py UrlSerial",
        "our open() reads them")
    assert list(inspect.signature(Serial.open).parameters) == ["self", "raise_not_found"], changed(
        "python-escpos", "Serial.open(raise_not_found)", "drivers/escpos_connect.py UrlSerial", "we override it")
    printer = escpos_connect.UrlSerial("loop://", baudrate=19200, timeout=0.5)
    printer.open()
    printer._raw(b"\x10\x04\x01")
    assert escpos_connect.read_reply(printer, 3, 1.0) == b"\x10\x04\x01", changed(
        "python-escpos", "Serial._raw writing to self.device", "drivers/escpos_connect.py",
        "status queries go out through it and answers are read from printer.device")
    printer.close()
    assert printer._device is False, changed("python-escpos", "Serial.close()", "drivers/escpos_printer.py",
                                             "a closed port must be reopened on the next job")


def test_escpos_network_printer_is_a_socket_with_its_timeout():
    """A Network printer connected to a loopback listener: ``device`` is the socket (we set TCP_NODELAY and read
    status answers from it), ``timeout`` is kept, and _raw sends the bytes."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        printer = Network("127.0.0.1", server.getsockname()[1], timeout=2.0)
        printer.open()
        peer, _ = server.accept()
        with peer:
            assert isinstance(printer.device, socket.socket) and printer.timeout == 2.0, changed(
                "python-escpos", "Network.device (the socket) and Network.timeout", "drivers/escpos_connect.py",
                "open_port sets TCP_NODELAY on it, read_some reads from it and restores the timeout")
            printer._raw(b"\x10\x04\x02")
            assert peer.recv(16) == b"\x10\x04\x02"
        printer.close()


def test_escpos_usb_reads_with_its_own_read_and_takes_our_endpoints():
    """Usb still takes (idVendor, idProduct, ..., timeout, in_ep, out_ep) and overrides ``_read()``, through which
    status answers of a USB printer are read."""
    params = list(inspect.signature(Usb.__init__).parameters)
    assert params[1:3] == ["idVendor", "idProduct"] and {"timeout", "in_ep", "out_ep"} <= set(params), changed(
        "python-escpos", "Usb.__init__(idVendor, idProduct, timeout=, in_ep=, out_ep=)",
        "drivers/escpos_connect.py open_port", "a USB printer is opened with them")
    assert Usb._read is not Escpos._read and list(inspect.signature(Usb._read).parameters) == ["self"], changed(
        "python-escpos", "Usb._read()", "drivers/escpos_connect.py read_some", "USB status answers come through it")


def test_escpos_errors_and_the_capabilities_cache_folder():
    """escpos.exceptions still has Error with DeviceNotFoundError under it (our port errors), and escpos's
    capabilities module took its pickle folder from ESCPOS_CAPABILITIES_PICKLE_DIR at import, as escpos_lib set it
    (so no new temporary folder per start)."""
    assert issubclass(escpos_errors.DeviceNotFoundError, escpos_errors.Error), changed(
        "python-escpos", "exceptions.Error / DeviceNotFoundError", "drivers/escpos_connect.py",
        "PORT_ERRORS catches Error, and UrlSerial raises DeviceNotFoundError")
    import escpos.capabilities
    assert escpos.capabilities.pickle_dir == os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] == str(escpos_lib._cache), \
        changed("python-escpos", "capabilities.pickle_dir from ESCPOS_CAPABILITIES_PICKLE_DIR", "drivers/escpos_lib.py",
                "it names one fixed cache folder before escpos is imported")
