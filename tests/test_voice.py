"""The hall's voice: pyttsx3 + espeak-ng really speaking, offline, into WAV files (this machine has no sound card).

What a person in the hall would notice: the call is said in Mandarin and English with the number read digit by
digit; different numbers sound different; announcements come in call order, a quick recall is not said twice,
a backed-up voice skips stale calls rather than the newest; a crashed or hung engine is replaced and the
announcement still comes; and calls at the counters keep working whatever the voice does.

Every test here also proves that its sentences came from the pyttsx3 worker, not from the ``espeak-ng -w``
fallback (the autouse fixture ``spoken_by_pyttsx3``): a worker that cannot run fails these tests instead of
being covered up by the fallback. A test where the fallback is the point asks for ``fallback_expected``.
"""
from __future__ import annotations

import logging
import os
import signal
import wave

import pytest

from kiosk import settings
from kiosk.display.spoken import DEFAULT_TEMPLATES, call_announcement, paused_announcement, spell_number
from kiosk.drivers import tts_engine
from kiosk.drivers.espeak_speech import FALLBACK_LIMIT, FALLBACK_WINDOW, OPTIONS, EspeakSpeech
from kiosk.errors import ConfigError
from util import assert_error, hall_config, scrape, wait_until

API = "/api/v1"
COUNTER_3 = {"id": 3, "name": "3号窗口", "name_en": "Counter 3"}
BOTH = ["zh-CN", "en"]


def wav_seconds(path: str) -> float:
    """Open a WAV file as a player would; 16-bit mono 22,050 Hz; return its length in seconds."""
    with wave.open(path, "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        return wav.getnframes() / wav.getframerate()


def pcm(path: str) -> bytes:
    with wave.open(path, "rb") as wav:
        return wav.readframes(wav.getnframes())


@pytest.fixture(autouse=True)
def spoken_by_pyttsx3(request):
    """After each test: every voice it used (its own, ``make_voice``'s, and the ``hall``'s) made each sentence it
    synthesized with the pyttsx3 worker and none with ``espeak-ng -w`` — unless the test asks for
    ``fallback_expected``. Yields the list ``make_voice`` records its voices in."""
    made: list[EspeakSpeech] = []
    yield made
    if "fallback_expected" in request.fixturenames:
        return
    states = [voice.state() for voice in made]
    hall = request.node.funcargs.get("hall")
    if hall is not None:
        states += [s for s in hall.devices.states() if "engine_syntheses" in s]
    for state in states:
        why = state["degraded"] or state["last_error"]
        assert state["fallbacks"] == 0, (f"voice {state['name']}: {state['fallbacks']} sentences were made by "
                                         f"espeak-ng -w, not the pyttsx3 worker ({why})")
        assert state["engine_syntheses"] == state["cache"]["misses"], state


@pytest.fixture
def fallback_expected():
    """The test makes the voice fall back to ``espeak-ng -w`` on purpose (``spoken_by_pyttsx3`` lets it)."""


@pytest.fixture
def make_voice(tmp_path, spoken_by_pyttsx3):
    """Build espeak voices as the hall builds them (options checked by their schema), not yet started:
    ``make_voice(chime=False)``."""
    def make(**options) -> EspeakSpeech:
        spec = {"name": "voice", "kind": "speech", "type": "espeak",
                "options": OPTIONS.validate(options, "devices[0].options")}
        device = EspeakSpeech(spec)
        device.data_dir = tmp_path
        spoken_by_pyttsx3.append(device)
        return device
    return make


def calls(*numbers: str, kind: str = "call") -> list:
    return [call_announcement(kind, n, COUNTER_3, DEFAULT_TEMPLATES, BOTH) for n in numbers]


# -- the words (pure functions) ----------------------------------------------------------------------------------

@pytest.mark.parametrize("number, lang, words", [
    ("A012", "zh-CN", "A 零 一 二"),
    ("A012", "en", "A-zero one two"),
    ("V100", "zh-CN", "V 一 零 零"),
    ("V100", "en", "V-one zero zero"),
    ("AB907", "en", "A B-nine zero seven"),
    ("C999", "zh-CN", "C 九 九 九"),
])
def test_numbers_are_read_digit_by_digit_and_letters_as_letters(number, lang, words):
    """A012 is "A 零 一 二" in Mandarin (never "A 十二") and "A-zero one two" in English (the hyphen keeps
    espeak-ng from reading a lone "A" as the article)."""
    assert spell_number(number, lang) == words


def test_a_number_with_other_characters_is_refused():
    """A ticket number with a space or punctuation is not read out: ValueError naming the character."""
    with pytest.raises(ValueError, match="'-'"):
        spell_number("A-12", "en")


def test_call_recall_and_paused_use_the_default_templates_with_counter_names_as_configured():
    """A call of A012 to 3号窗口 / Counter 3, its recall, and the counter pausing, in both languages."""
    call, recall = calls("A012")[0], calls("A012", kind="recall")[0]
    assert call.sentences == {"zh-CN": "请 A 零 一 二 号到3号窗口办理",
                              "en": "Ticket A-zero one two, please go to Counter 3"}
    assert recall.sentences["zh-CN"] == "再次呼叫，请 A 零 一 二 号到3号窗口办理"
    assert call.key == recall.key == "A012@3"
    paused = paused_announcement(COUNTER_3, DEFAULT_TEMPLATES, ["en"])
    assert paused.sentences == {"en": "Counter 3 is paused, please wait for another counter"}


@pytest.mark.parametrize("key, value, problem", [
    ("call", {"en": "Ticket {ticket}"}, "announcements.call.en"),
    ("paused", {"zh-CN": "{number}暂停"}, "announcements.paused.zh-CN"),
    ("recall", {"en": "Ticket {number"}, "announcements.recall.en"),
    ("call", {"fr": "Billet {number}"}, "announcements.call.fr"),
])
def test_a_bad_template_is_rejected_with_its_path(key, value, problem):
    """A template with an unknown or broken placeholder, or for an unknown language, is refused with the key's
    path, so the technician finds the line."""
    data = settings.tomllib.loads(settings.default_text())
    data["announcements"][key].update(value)
    with pytest.raises(ConfigError) as err:
        settings.validate(data)
    assert err.value.path == problem


def test_unknown_voice_option_is_rejected_with_its_path(client, tech):
    """PUT /config with a misspelt voice option (`speed`) is 422 `invalid_config` naming devices[10].options.speed
    (the voice is the eleventh device of the default hall)."""
    cfg = client.get(f"{API}/config", headers=tech).json
    assert cfg["devices"][10]["name"] == "voice"
    cfg["devices"][10]["options"] = {"speed": 200}
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 422, "invalid_config")
    assert "devices[10].options.speed" in err["message"]


def _english_call(cfg):
    cfg["announcements"]["call"]["en"] = "Number {number}, to {counter} please"
    cfg["hall"]["languages"] = ["en"]


@hall_config(_english_call)
def test_the_configured_template_and_languages_are_spoken(client, tech, hall):
    """A hall with English only and its own call template: counter 1 calling A001 says exactly "Number
    A-zero zero one, to Counter 1 please", and nothing in Mandarin."""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.files, timeout=15)
    assert list(voice.spoken) == [{"en": "Number A-zero zero one, to Counter 1 please"}]
    assert set(voice.files[0]["clip_files"]) == {"en"}


# -- the real voice in the default hall --------------------------------------------------------------------------

def test_a_call_becomes_a_mandarin_and_english_wav_that_differs_by_number(client, tech, hall):
    """Counter 3 calls A001, then A002. Each call is written as one valid WAV under data/announcements (chime,
    Mandarin, English: several seconds long), from a Mandarin clip and an English clip that each last a
    plausible time; the clips of A001 and A002 differ; the voices are cmn-latn-pinyin and en-us."""
    for _ in range(2):
        client.post(f"{API}/tickets", json={"service": "general"})
    voice = hall.devices.get("voice")
    client.post(f"{API}/counters/3/next", headers=tech)
    wait_until(lambda: len(voice.files) == 1, timeout=15)
    client.post(f"{API}/counters/3/next", headers=tech)
    wait_until(lambda: len(voice.files) == 2, timeout=15)
    first, second = voice.files
    assert first["sentences"]["zh-CN"] == "请 A 零 零 一 号到3号窗口办理"
    for record in (first, second):
        assert os.path.dirname(record["file"]) == str(hall.data_dir / "announcements")
        assert 6 < wav_seconds(record["file"]) < 25
        assert 2 < wav_seconds(record["clip_files"]["zh-CN"]) < 10
        assert 1.5 < wav_seconds(record["clip_files"]["en"]) < 10
    for lang in BOTH:
        assert pcm(first["clip_files"][lang]) != pcm(second["clip_files"][lang])
    assert hall.devices.get("voice").state()["voice"] == {"zh-CN": "cmn-latn-pinyin", "en": "en-us"}


def test_a_call_is_synthesized_by_the_pyttsx3_worker_and_metrics_and_health_say_so(client, tech, hall):
    """Counter 1 calls A001 in the default hall: both sentences of the announcement were made by the pyttsx3
    worker (pyttsx3 2.99, the pinned version), none by espeak-ng -w; /metrics counts 2 syntheses, 0 fallbacks,
    0 restarts and the voice not degraded; /health is ok."""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.files, timeout=15)
    assert voice.files[0]["made_by"] == {"zh-CN": "pyttsx3", "en": "pyttsx3"}
    state = voice.state()
    assert (state["engine_syntheses"], state["fallbacks"], state["degraded"]) == (2, 0, None)
    assert state["engine"] == "pyttsx3 2.99 + espeak-ng"
    m = scrape(client.get("/metrics").get_data(as_text=True))
    device = (("device", "voice"),)
    assert [m[(name, device)] for name in ("hall_voice_syntheses_total", "hall_voice_fallbacks_total",
                                           "hall_voice_engine_restarts_total", "hall_voice_degraded")] == [2, 0, 0, 0]
    health = client.get("/health").json
    assert health["status"] == "ok" and health["problems"] == []


@pytest.fixture
def broken_pyttsx3(tmp_path, monkeypatch):
    """A PC whose pyttsx3 cannot be imported: the worker process (a child, which inherits PYTHONPATH) dies at
    once with an ImportError; the daemon itself never imports pyttsx3."""
    shadow = tmp_path / "broken-site" / "pyttsx3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("pyttsx3 is broken on this PC")\n')
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))


def test_a_voice_whose_engine_cannot_start_speaks_by_the_fallback_counted_and_degraded(
        broken_pyttsx3, fallback_expected, client, tech, hall):
    """The pyttsx3 worker dies as it starts. Counter 1 calls A001: the announcement is still written, both
    sentences made by espeak-ng -w; /metrics counts 2 fallbacks, 0 syntheses and 1 restart (the second sentence
    tried a fresh engine) and shows the voice degraded; /health is degraded (200: a restart would not mend
    pyttsx3) with a problem that names the voice and why."""
    client.post(f"{API}/tickets", json={"service": "general"})
    client.post(f"{API}/counters/1/next", headers=tech)
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.files, timeout=15)
    assert voice.files[0]["made_by"] == {"zh-CN": "espeak-ng -w", "en": "espeak-ng -w"}
    assert 6 < wav_seconds(voice.files[0]["file"]) < 25
    m = scrape(client.get("/metrics").get_data(as_text=True))
    device = (("device", "voice"),)
    assert [m[(name, device)] for name in ("hall_voice_syntheses_total", "hall_voice_fallbacks_total",
                                           "hall_voice_engine_restarts_total", "hall_voice_degraded")] == [0, 2, 1, 1]
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.json["status"] == "degraded"
    assert resp.json["problems"] == [
        "device voice is degraded: its pyttsx3 engine cannot be started (the speech engine died (exit status 1)), "
        "so espeak-ng -w makes its announcements"]


def test_the_mandarin_voice_chosen_reads_hanzi_itself():
    """espeak-ng's `cmn` switches to English rules for the probe sentence; `cmn-latn-pinyin` does not, which is
    why the hall speaks with it."""
    assert "switches to en" in (tts_engine.voice_problem("cmn", "zh-CN") or "")
    assert tts_engine.voice_problem("cmn-latn-pinyin", "zh-CN") is None


def test_a_configured_voice_that_reads_hanzi_as_english_is_passed_over_and_the_choice_logged(make_voice, caplog):
    """A technician configures voice_zh = "cmn": at start the voice logs that cmn was passed over (it switches
    to English rules) and that it speaks Mandarin with cmn-latn-pinyin."""
    voice = make_voice(voice_zh="cmn")
    with caplog.at_level(logging.INFO, logger="kiosk.drivers.espeak_speech"):
        voice.start()
    voice.stop()
    passed_over = "Mandarin voice passed over: cmn: reads zh-CN text with other languages' rules (switches to en)"
    assert passed_over in caplog.text
    assert "Mandarin voice: cmn-latn-pinyin" in caplog.text and "English voice: en-us" in caplog.text
    assert voice.voices == {"zh-CN": "cmn-latn-pinyin", "en": "en-us"}


def test_device_list_and_test_sentence_show_the_voice(client, tech, hall):
    """GET /devices shows the voice's voices, output (WAV here), queue length and last error; POST
    /devices/voice/test is answered at once and the test sentence is then written as a WAV."""
    state = next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == "voice")
    assert state["voice"]["zh-CN"] == "cmn-latn-pinyin" and state["output"] == "wav"
    assert state["queue_length"] == 0 and state["last_error"] is None and state["online"] is True
    assert client.post(f"{API}/devices/voice/test", headers=tech).status_code == 200
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.files, timeout=15)
    assert voice.files[-1]["kind"] == "test" and wav_seconds(voice.files[-1]["file"]) > 2


def test_the_real_voice_cannot_be_simulated(client, tech):
    """A simulate action on the real voice is 409 `not_simulated`."""
    assert_error(client.post(f"{API}/devices/voice/simulate", json={"fault": "mute"}, headers=tech),
                 409, "not_simulated")


def test_a_repeated_phrase_comes_from_the_cache(make_voice):
    """The same call said twice is synthesized once: the second announcement takes both clips from the cache."""
    voice = make_voice(chime=False)
    voice.start()
    try:
        voice.announce(calls("A001")[0])
        wait_until(lambda: len(voice.files) == 1, timeout=15)
        voice.announce(calls("A001")[0])
        wait_until(lambda: len(voice.files) == 2, timeout=15)
    finally:
        voice.stop()
    assert [f["cached_clips"] for f in voice.files] == [0, 2]
    assert voice.state()["cache"]["misses"] == 2


def test_repeat_says_the_sentences_again_after_the_pause_and_the_chime_comes_first(make_voice):
    """With repeat = 2 and a 1 s pause, A001's announcement is the chime (0.7 s + 0.3 s of silence), then
    Mandarin, 0.4 s, English, 1 s of silence, and both sentences once more: its length adds up exactly."""
    voice = make_voice(repeat=2, repeat_pause_s=1.0)
    voice.start()
    try:
        voice.announce(calls("A001")[0])
        wait_until(lambda: voice.files, timeout=15)
    finally:
        voice.stop()
    record = voice.files[0]
    once = wav_seconds(record["clip_files"]["zh-CN"]) + 0.4 + wav_seconds(record["clip_files"]["en"])
    assert wav_seconds(record["file"]) == pytest.approx(0.7 + 0.3 + 2 * once + 1.0, abs=0.01)
    with wave.open(record["file"], "rb") as wav:
        start = wav.readframes(int(0.7 * 22050))
    assert max(abs(int.from_bytes(start[i:i + 2], "little", signed=True)) for i in range(0, 4000, 2)) > 3000


# -- the queue's policy, with the real worker --------------------------------------------------------------------

def test_calls_are_spoken_in_order_and_a_waiting_call_absorbs_its_recall(make_voice):
    """A001, its recall, A002 and A003 are queued before the voice has said anything: A001 is said once (the
    recall merged with it) and the three calls come out in call order."""
    voice = make_voice()
    for a in calls("A001") + calls("A001", kind="recall") + calls("A002", "A003"):
        voice.announce(a)
    assert voice.state()["queue_length"] == 3 and voice.queue.merged == 1
    voice.start()
    try:
        wait_until(lambda: len(voice.files) == 3, timeout=20)
    finally:
        voice.stop()
    assert [f["key"] for f in voice.files] == ["A001@3", "A002@3", "A003@3"]


def test_a_backed_up_voice_drops_the_stale_calls_and_logs_them(make_voice, caplog):
    """With at most 2 waiting, four calls queued at once: A001 and A002 are dropped (and logged), A003 and the
    newest, A004, are said."""
    voice = make_voice(max_backlog=2)
    with caplog.at_level(logging.WARNING):
        for a in calls("A001", "A002", "A003", "A004"):
            voice.announce(a)
    assert "dropped the stale call A001@3" in caplog.text and "A002@3" in caplog.text
    voice.start()
    try:
        wait_until(lambda: len(voice.files) == 2, timeout=20)
    finally:
        voice.stop()
    assert [f["key"] for f in voice.files] == ["A003@3", "A004@3"] and voice.state()["dropped"] == 2


def test_a_counter_pausing_is_announced(client, tech, hall):
    """Counter 3 pauses: the voice says "3号窗口暂停服务，请到其他窗口办理" / "Counter 3 is paused, please wait for
    another counter"."""
    client.post(f"{API}/counters/3/pause", headers=tech)
    voice = hall.devices.get("voice")
    wait_until(lambda: voice.files, timeout=15)
    assert voice.files[0]["kind"] == "paused"
    assert voice.spoken[0] == {"zh-CN": "3号窗口暂停服务，请到其他窗口办理",
                               "en": "Counter 3 is paused, please wait for another counter"}


def test_announcements_are_played_one_after_another_with_aplay(make_voice):
    """With output = "aplay" on ALSA's null device (this machine has no sound card), two calls are played by
    the real aplay, in order, and nothing fails."""
    voice = make_voice(output="aplay", sound_device="null")
    voice.start()
    try:
        for a in calls("A001", "A002"):
            voice.announce(a)
        wait_until(lambda: len(voice.files) == 2, timeout=20)
        wait_until(lambda: len(voice.queue) == 0)
    finally:
        voice.stop()
    state = voice.state()
    assert state["output"] == "aplay" and state["failures"] == 0 and state["last_error"] is None
    assert [f["key"] for f in voice.files] == ["A001@3", "A002@3"]


def test_a_failing_player_is_reported_and_the_next_call_is_still_made(make_voice):
    """aplay cannot open the configured sound device: each announcement's WAV is still written, the failure
    is counted and shown as the last error naming aplay, and the voice goes on to the next call."""
    voice = make_voice(output="aplay", sound_device="no-such-pcm")
    voice.start()
    try:
        for a in calls("A001", "A002"):
            voice.announce(a)
        wait_until(lambda: voice.failures == 2, timeout=20)
        assert voice.online() is False  # shown offline until an announcement succeeds again
    finally:
        voice.stop()
    assert [f["key"] for f in voice.files] == ["A001@3", "A002@3"]
    assert all(os.path.exists(f["file"]) for f in voice.files)
    assert "aplay failed" in voice.last_error


# -- failures --------------------------------------------------------------------------------------------------

def test_a_crashed_engine_is_restarted_and_the_next_call_is_announced(client, tech, hall):
    """The pyttsx3 worker is killed after A001 was announced; counter 1 calls A002: a new worker says it, and
    the device list counts one engine restart."""
    for _ in range(2):
        client.post(f"{API}/tickets", json={"service": "general"})
    voice = hall.devices.get("voice")
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: len(voice.files) == 1, timeout=15)
    old = voice.engine.pid
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: voice.engine.pid is None)  # it has exited: else the next sentence might still find it
    # "running", write to it, and fall back
    assert client.post(f"{API}/counters/1/next", headers=tech).status_code == 200
    wait_until(lambda: len(voice.files) == 2, timeout=15)
    assert voice.files[-1]["sentences"]["en"].startswith("Ticket A-zero zero two")
    assert voice.engine.pid not in (None, old) and voice.state()["engine_restarts"] == 1


def _quick_engine_timeout(cfg):
    cfg["devices"][-1]["options"] = {"engine_timeout_s": 1.0}


@hall_config(_quick_engine_timeout)
def test_a_hung_engine_never_holds_up_calls_and_espeak_ng_takes_over(fallback_expected, client, tech, hall):
    """The worker is frozen (SIGSTOP). Counter 2 calls A001 and A002: both answers are 200 at once and the LED
    shows A002. After the 1 s engine timeout the frozen worker is killed, `espeak-ng -w` says A001, a fresh
    worker says A002, and the last error tells the technician what happened."""
    for _ in range(2):
        client.post(f"{API}/tickets", json={"service": "general"})
    voice = hall.devices.get("voice")
    voice.announce(calls("B001")[0])  # starts the worker
    wait_until(lambda: voice.files, timeout=15)
    frozen = voice.engine.pid
    os.kill(frozen, signal.SIGSTOP)
    try:
        assert client.post(f"{API}/counters/2/next", headers=tech).status_code == 200
        assert client.post(f"{API}/counters/2/next", headers=tech).status_code == 200
        wait_until(lambda: hall.devices.get("counter-2-led").text.lines == ("A002",))
        wait_until(lambda: len(voice.files) == 3, timeout=20)
    finally:
        try:
            os.kill(frozen, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert [f["key"] for f in voice.files][1:] == ["A001@2", "A002@2"]
    state = voice.state()
    assert state["fallbacks"] >= 1 and state["engine_restarts"] >= 1
    assert "did not answer within 1 s" in state["last_error"]


@hall_config(_quick_engine_timeout)
def test_a_voice_that_keeps_falling_back_is_degraded_until_its_engine_speaks_again(fallback_expected, client, hall):
    """Each new worker is frozen (SIGSTOP) as soon as it has said something, three times: each of the three
    announcements after B001 has its Mandarin sentence made by espeak-ng -w (the frozen worker timed out) and its
    English one by a fresh worker. That is more than FALLBACK_LIMIT of the last FALLBACK_WINDOW announcements:
    /health is degraded and says how many and why. Three normal announcements later the fallbacks have left the
    window and /health is ok again."""
    voice = hall.devices.get("voice")
    voice.announce(calls("B001")[0])
    wait_until(lambda: voice.files, timeout=15)
    frozen = []
    try:
        for n in range(2, 5):
            frozen.append(voice.engine.pid)
            os.kill(frozen[-1], signal.SIGSTOP)
            voice.announce(calls(f"B00{n}")[0])
            wait_until(lambda n=n: len(voice.files) == n, timeout=20)
            assert voice.files[-1]["made_by"] == {"zh-CN": "espeak-ng -w", "en": "pyttsx3"}
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    assert 3 > FALLBACK_LIMIT and FALLBACK_WINDOW >= 4
    health = client.get("/health").json
    assert health["status"] == "degraded"
    assert health["problems"] == [
        "device voice is degraded: 3 of its last 4 announcements were made by espeak-ng -w, not its pyttsx3 "
        "engine (the speech engine did not answer within 1 s)"]
    for n in range(5, 8):
        voice.announce(calls(f"B00{n}")[0])
        wait_until(lambda n=n: len(voice.files) == n, timeout=20)
    assert voice.files[-1]["made_by"] == {"zh-CN": "pyttsx3", "en": "pyttsx3"}
    assert client.get("/health").json["status"] == "ok" and voice.state()["fallbacks"] == 3


@pytest.fixture
def no_espeak(monkeypatch, tmp_path):
    """A PC without espeak-ng: nothing on PATH (the voice check's memory is cleared before and after)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    tts_engine.voice_problem.cache_clear()
    yield
    tts_engine.voice_problem.cache_clear()


def test_without_espeak_ng_the_voice_is_offline_and_calls_still_work(no_espeak, client, tech, hall):
    """On a PC where espeak-ng is missing, the hall still starts: the voice is listed offline with a last error
    that says to install espeak-ng, and counter 1 still calls A001 onto its LED."""
    state = next(d for d in client.get(f"{API}/devices", headers=tech).json["devices"] if d["name"] == "voice")
    assert state["online"] is False and "apt-get install espeak-ng" in state["last_error"]
    client.post(f"{API}/tickets", json={"service": "general"})
    assert client.post(f"{API}/counters/1/next", headers=tech).json["number"] == "A001"
    wait_until(lambda: hall.devices.get("counter-1-led").text.lines == ("A001",))
