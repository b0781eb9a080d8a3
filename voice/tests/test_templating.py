import xml.etree.ElementTree as ET
from typing import TypedDict

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voice.templating import MissingValuesError, TemplateSyntaxError, parse, placeholders, render


class Voice(TypedDict):
    voice: str
    language: str


VOICE: Voice = {"voice": "Polly.Joanna-Neural", "language": "en-US"}
Case = tuple[str, dict[str, str], list[tuple[str, str]]]  # a template, its values, what comes out


def child(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path)
    assert found is not None, f"no {path} in {ET.tostring(element, encoding='unicode')}"
    return found


def spoken(xml: str) -> list[tuple[str, str]]:
    """(tag, text) for each Say/Play and say-as in document order, text fully joined."""
    root = ET.fromstring(xml)
    out = []
    for element in root:
        out.append((element.tag, "".join(element.itertext())))
    return out


def test_text_variables_ssml_and_audio_keep_their_order() -> None:
    rendered = render(
        "Hi {name}, you owe {amount}~SSML~currency. {MP3~chime} Call {phone}~SSML~phone.",
        {"name": "Ann", "amount": "12.50", "phone": "+15551234567"},
        audio_urls={"chime": "https://files.test/chime.mp3"},
        **VOICE,
    )

    root = ET.fromstring(rendered.twiml)
    assert [child.tag for child in root] == ["Say", "Play", "Say"]
    first, play, second = root
    assert first.attrib == {"voice": "Polly.Joanna-Neural", "language": "en-US"}
    assert "".join(first.itertext()) == "Hi Ann, you owe 12.50. "
    assert child(first, "say-as").attrib == {"interpret-as": "currency"}
    assert play.text == "https://files.test/chime.mp3"
    assert child(second, "say-as").attrib == {"interpret-as": "telephone"}
    assert rendered.variables == ["name", "amount", "phone"]


@pytest.mark.parametrize(
    ("kind", "interpret_as"),
    [
        ("currency", "currency"),
        ("number", "number"),
        ("digits", "digits"),
        ("phone", "telephone"),
        ("date", "date"),
        ("time", "time"),
    ],
)
def test_every_ssml_type_maps_to_say_as(kind: str, interpret_as: str) -> None:
    xml = render(f"{{v}}~SSML~{kind}", {"v": "7"}, **VOICE).twiml
    assert child(ET.fromstring(xml), "Say/say-as").attrib["interpret-as"] == interpret_as


def test_rate_becomes_prosody_and_medium_adds_nothing() -> None:
    slow = ET.fromstring(render("Hello", {}, rate="slow", **VOICE).twiml)
    medium = ET.fromstring(render("Hello", {}, rate="medium", **VOICE).twiml)
    assert child(slow, "Say/prosody").attrib == {"rate": "slow"}
    assert medium.find("Say/prosody") is None and child(medium, "Say").text == "Hello"


def test_markup_in_values_stays_text() -> None:
    attack = '</Say><Dial>+15550000000</Dial><Say>"&amp;'
    xml = render("Hello {name}", {"name": attack}, **VOICE).twiml

    root = ET.fromstring(xml)
    assert root.find("Dial") is None
    assert child(root, "Say").text == "Hello " + attack


def test_strict_mode_names_what_is_missing() -> None:
    with pytest.raises(MissingValuesError) as missing:
        render("{a} {b} {MP3~intro}", {"a": "x"}, **VOICE)
    assert (missing.value.variables, missing.value.audio) == (["b"], ["intro"])


def test_lenient_mode_drops_missing_parts() -> None:
    rendered = render("Dear {title} {name}. {MP3~gone}", {"name": "Lee"}, strict=False, **VOICE)
    assert spoken(rendered.twiml) == [("Say", "Dear  Lee. ")]
    assert (rendered.missing_variables, rendered.missing_audio) == (["title"], ["gone"])


def test_unknown_ssml_type_is_a_syntax_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="Unknown SSML type 'money'"):
        parse("{amount}~SSML~money")


def test_placeholders_lists_each_once_in_order() -> None:
    assert placeholders("{b} {a} {b} {MP3~x} {MP3~x}") == (["b", "a"], ["x"])


def test_text_without_placeholders_is_left_alone() -> None:
    assert spoken(render("Plain {not a var} text ~SSML~ here", {}, **VOICE).twiml) == [
        ("Say", "Plain {not a var} text ~SSML~ here")
    ]


# Property tests: any template, any values.
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
values = st.text(max_size=40)
literal = st.text(max_size=30).filter(lambda text: "{" not in text)


@st.composite
def templates(draw: st.DrawFn) -> Case:
    """A template, values for its variables, and what should come out: ("text"|"audio", content) in order."""
    template: list[str] = []
    variables: dict[str, str] = {}
    expected: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["text", "variable", "ssml", "audio"]))
        if kind == "text":
            text = draw(literal)
            template.append(text)
            expected.append(("text", text))
        elif kind == "audio":
            name = draw(names)
            template.append(f"{{MP3~{name}}}")
            expected.append(("audio", f"https://files.test/{name}.mp3"))
        else:
            name = draw(names)
            value = variables.setdefault(name, draw(values))
            template.append(f"{{{name}}}" + ("~SSML~digits" if kind == "ssml" else ""))
            expected.append(("text", value))
    return "".join(template), variables, expected


def _xml_text(text: str) -> str:
    """What an XML parser gives back for text: characters XML cannot hold are gone (the renderer drops
    them) and line ends are normalised to \\n (XML's own end-of-line handling)."""
    kept = "".join(
        ch for ch in text if ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd") or ch > "\uffff"
    )
    return kept.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(templates())
@example(("\r{a}~SSML~digits", {"a": "0"}, [("text", "\r"), ("text", "0")]))  # found by Hypothesis
def test_any_template_renders_well_formed_xml_with_values_as_text_in_order(case: Case) -> None:
    template, variables, expected = case
    audio_urls = {name: url for kind, url in expected if kind == "audio" for name in [url.rsplit("/", 1)[1][:-4]]}

    xml = render(template, variables, audio_urls=audio_urls, **VOICE).twiml

    root = ET.fromstring(xml)  # well-formed, whatever the values held
    allowed = {"Say", "Play", "prosody", "say-as"}
    assert {element.tag for element in root.iter()} - {"Response"} <= allowed
    produced: list[tuple[str, str]] = []
    for element in root:
        if element.tag == "Play":
            assert element.text is not None  # <Play> holds its URL
            produced.append(("audio", element.text))
        else:
            produced.append(("text", "".join(element.itertext())))
    expected_merged: list[tuple[str, str]] = []
    for kind, content in expected:
        content = _xml_text(content) if kind == "text" else content
        if kind == "text" and expected_merged and expected_merged[-1][0] == "text":
            expected_merged[-1] = ("text", expected_merged[-1][1] + content)
        else:
            expected_merged.append((kind, content))
    assert _audible(produced) == _audible(expected_merged)


def _audible(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Whitespace-only speech between audio parts is not worth a <Say>, so the renderer leaves it out; and
    # whitespace at either end of what is said is not heard (the renderer drops it before a say-as value).
    return [
        (kind, content.strip() if kind == "text" else content)
        for kind, content in parts
        if kind == "audio" or content.strip()
    ]
