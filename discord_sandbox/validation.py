"""What Discord refuses in a body, decided once for every route that takes one.

Each ``check_*`` returns ``None`` when Discord would accept the body, else Discord's answer: 400 code 50035
"Invalid Form Body" whose ``errors`` tree names every bad field by its path (``routing.FormErrors``), or
400 code 50006 "Cannot send an empty message". The limits and their documentation pages (in
discord/discord-api-docs):

- message bodies (channel messages and their edits, DMs, interaction callbacks of type 4 and 7, interaction
  follow-ups and webhook message edits): ``developers/resources/message.mdx`` ("Create Message": content up to
  2000 characters, up to 10 embeds, ``nonce`` up to 25 characters; "Embed Limits": title 256, description
  4096, 25 fields, field name 256 and value 1024, footer text 2048, author name 256, 6000 in total across the
  message's embeds);
- components: ``developers/components/reference.mdx`` (5 action rows in a legacy message, 40 components with
  IS_COMPONENTS_V2, 1 to 5 buttons per row, custom_id 1-100, button label 80, text input label 1-45);
- modals: ``developers/interactions/receiving-and-responding.mdx`` ("Modal": custom_id 1-100, title up to 45,
  1 to 5 components);
- application commands: ``developers/interactions/application-commands.mdx`` (names matching
  ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase for CHAT_INPUT commands and every option;
  descriptions 1-100; 25 options, 25 choices).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from aiohttp import web

from discord_sandbox.routing import EMPTY_MESSAGE, FormErrors, err

Path = tuple[str | int, ...]

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_TEXT_MAX = 2048
EMBED_AUTHOR_NAME_MAX = 256
EMBEDS_TOTAL_MAX = 6000
NONCE_MAX = 25
LEGACY_ACTION_ROWS_MAX = 5
COMPONENTS_V2_MAX = 40
ROW_CHILDREN_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
BUTTON_URL_MAX = 512
SELECT_PLACEHOLDER_MAX = 150
SELECT_OPTIONS_MAX = 25
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000
TEXT_INPUT_PLACEHOLDER_MAX = 100
LABEL_DESCRIPTION_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
AUTOCOMPLETE_CHOICES_MAX = 25
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
OPTION_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100

IS_COMPONENTS_V2 = 1 << 15
CHAT_INPUT = 1
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
LINK_STYLE, PREMIUM_STYLE = 5, 6
ACTION_ROW, BUTTON, TEXT_INPUT, LABEL = 1, 2, 4, 18
SELECTS = frozenset({3, 5, 6, 7, 8})
STRING_SELECT = 3
# Section (9) and Container (17) hold other components; Label (18) holds one.
CONTAINERS = frozenset({9, 17})
INT64 = (-(2**63), 2**63 - 1)
CALLBACK_TYPES = (1, 4, 5, 6, 7, 8, 9, 10, 12)


# --- the form errors Discord answers ----------------------------------------------------------------
def _max_length(errors: FormErrors, path: Path, value: Any, limit: int) -> None:
    if isinstance(value, (str, list)) and len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _length_between(
    errors: FormErrors, path: Path, value: Any, low: int, high: int, *, required: bool = True
) -> None:
    if value is None:
        if required:
            errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if isinstance(value, (str, list)) and not low <= len(value) <= high:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# --- messages ---------------------------------------------------------------------------------------
def check_message(
    body: Any, *, existing: dict | None = None, editing: bool = False, prefix: Path = ()
) -> web.Response | None:
    """Discord's answer to a message body, or None. ``editing`` checks the edit's fields and then whether the
    message it leaves (``existing`` with the edit applied, when known) is empty; ``prefix`` is where the
    message sits in the request body (``("data",)`` in an interaction callback)."""
    body = _as_dict(body)
    errors = FormErrors()
    _message_fields(errors, body, prefix)
    if not editing:
        _nonce(errors, body.get("nonce"), prefix + ("nonce",))
    if errors:
        return errors.response()
    if editing:
        if existing is None:
            return None
        body = {**existing, **body}
    return err(EMPTY_MESSAGE) if is_empty_message(body) else None


def is_empty_message(body: dict) -> bool:
    """No content, embeds, components, files, stickers or poll: what Discord calls an empty message."""
    content = body.get("content")
    has_content = isinstance(content, str) and content.strip() != ""
    return not (
        has_content
        or body.get("embeds")
        or body.get("components")
        or body.get("attachments")
        or body.get("files")
        or body.get("sticker_ids")
        or body.get("poll")
    )


def _message_fields(errors: FormErrors, body: dict, prefix: Path) -> None:
    _max_length(errors, prefix + ("content",), body.get("content"), CONTENT_MAX)
    embeds = _as_list(body.get("embeds"))
    _max_length(errors, prefix + ("embeds",), embeds, EMBEDS_MAX)
    for index, embed in enumerate(embeds):
        _embed(errors, _as_dict(embed), prefix + ("embeds", index))
    if sum(_embed_size(_as_dict(embed)) for embed in embeds) > EMBEDS_TOTAL_MAX:
        errors.add(
            prefix + ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBEDS_TOTAL_MAX}",
        )
    flags = body.get("flags") if isinstance(body.get("flags"), int) else 0
    _message_components(
        errors, body.get("components"), prefix + ("components",), v2=bool(flags & IS_COMPONENTS_V2)
    )


def _embed(errors: FormErrors, embed: dict, path: Path) -> None:
    _max_length(errors, path + ("title",), embed.get("title"), EMBED_TITLE_MAX)
    _max_length(errors, path + ("description",), embed.get("description"), EMBED_DESCRIPTION_MAX)
    fields = _as_list(embed.get("fields"))
    _max_length(errors, path + ("fields",), fields, EMBED_FIELDS_MAX)
    for index, field in enumerate(fields):
        field = _as_dict(field)
        for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
            if field.get(key) is None:
                errors.add(path + ("fields", index, key), "BASE_TYPE_REQUIRED", "This field is required")
            _max_length(errors, path + ("fields", index, key), field.get(key), limit)
    footer, author = _as_dict(embed.get("footer")), _as_dict(embed.get("author"))
    _max_length(errors, path + ("footer", "text"), footer.get("text"), EMBED_FOOTER_TEXT_MAX)
    _max_length(errors, path + ("author", "name"), author.get("name"), EMBED_AUTHOR_NAME_MAX)


def _embed_size(embed: dict) -> int:
    """The characters that count toward the 6000 of a message: title, description, fields, footer, author."""

    def size(value: Any) -> int:
        return len(value) if isinstance(value, str) else 0

    fields = [_as_dict(field) for field in _as_list(embed.get("fields"))]
    return (
        size(embed.get("title"))
        + size(embed.get("description"))
        + sum(size(field.get("name")) + size(field.get("value")) for field in fields)
        + size(_as_dict(embed.get("footer")).get("text"))
        + size(_as_dict(embed.get("author")).get("name"))
    )


def _nonce(errors: FormErrors, nonce: Any, path: Path) -> None:
    if nonce is None:
        return
    if isinstance(nonce, bool) or not isinstance(nonce, (int, str)):
        errors.add(path, "NONCE_TYPE_INVALID_TYPE", "This field must be a string or integer.")
    elif isinstance(nonce, str) and len(nonce) > NONCE_MAX:
        errors.add(path, "NONCE_TYPE_TOO_LONG", f"Must be {NONCE_MAX} or fewer characters long.")
    elif isinstance(nonce, int) and not INT64[0] <= nonce <= INT64[1]:
        errors.add(path, "NONCE_TYPE_OUT_OF_BOUNDS", f"Must be between {INT64[0]} and {INT64[1]}.")


# --- components -------------------------------------------------------------------------------------
def _message_components(errors: FormErrors, components: Any, path: Path, *, v2: bool) -> None:
    components = _as_list(components)
    if v2:
        total = _component_count(components)
        if total > COMPONENTS_V2_MAX:
            errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMPONENTS_V2_MAX} or fewer in length.")
    else:
        _max_length(errors, path, components, LEGACY_ACTION_ROWS_MAX)
    for index, component in enumerate(components):
        _component(errors, _as_dict(component), path + (index,))


def _component_count(components: list) -> int:
    total = 0
    for component in components:
        component = _as_dict(component)
        total += 1 + _component_count(_as_list(component.get("components")))
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                total += 1 + _component_count(_as_list(component[key].get("components")))
    return total


def _component(errors: FormErrors, component: dict, path: Path) -> None:
    kind = component.get("type")
    if kind == ACTION_ROW:
        children = component.get("components")
        _length_between(errors, path + ("components",), children, 1, ROW_CHILDREN_MAX)
        for index, child in enumerate(_as_list(children)):
            _component(errors, _as_dict(child), path + ("components", index))
    elif kind == BUTTON:
        _max_length(errors, path + ("label",), component.get("label"), BUTTON_LABEL_MAX)
        _max_length(errors, path + ("url",), component.get("url"), BUTTON_URL_MAX)
        if component.get("style") not in (LINK_STYLE, PREMIUM_STYLE):
            _custom_id(errors, component, path)
    elif kind in SELECTS:
        _custom_id(errors, component, path)
        _max_length(errors, path + ("placeholder",), component.get("placeholder"), SELECT_PLACEHOLDER_MAX)
        if kind == STRING_SELECT:
            _length_between(errors, path + ("options",), component.get("options"), 1, SELECT_OPTIONS_MAX)
    elif kind == TEXT_INPUT:
        _custom_id(errors, component, path)
        _length_between(
            errors, path + ("label",), component.get("label"), 1, TEXT_INPUT_LABEL_MAX, required=False
        )
        _max_length(errors, path + ("value",), component.get("value"), TEXT_INPUT_VALUE_MAX)
        _max_length(errors, path + ("placeholder",), component.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX)
    elif kind == LABEL:
        _length_between(errors, path + ("label",), component.get("label"), 1, TEXT_INPUT_LABEL_MAX)
        _length_between(
            errors,
            path + ("description",),
            component.get("description"),
            1,
            LABEL_DESCRIPTION_MAX,
            required=False,
        )
        _component(errors, _as_dict(component.get("component")), path + ("component",))
    elif kind in CONTAINERS:
        for index, child in enumerate(_as_list(component.get("components"))):
            _component(errors, _as_dict(child), path + ("components", index))
        if isinstance(component.get("accessory"), dict):
            _component(errors, component["accessory"], path + ("accessory",))


def _custom_id(errors: FormErrors, component: dict, path: Path) -> None:
    _length_between(errors, path + ("custom_id",), component.get("custom_id"), 1, CUSTOM_ID_MAX)


# --- interaction callbacks --------------------------------------------------------------------------
def check_callback(body: Any, *, message: dict | None = None) -> web.Response | None:
    """Discord's answer to an interaction response body, or None. ``message`` is the message a component
    interaction came from (what an UPDATE_MESSAGE edits), when known."""
    body = _as_dict(body)
    kind = body.get("type")
    if kind not in CALLBACK_TYPES:
        errors = FormErrors()
        choices = ", ".join(str(choice) for choice in CALLBACK_TYPES)
        errors.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of ({choices}).")
        return errors.response()
    data = body.get("data")
    if kind == 4:
        return check_message(data, prefix=("data",))
    if kind == 7:
        return check_message(data, existing=message, editing=True, prefix=("data",))
    if kind == 8:
        errors = FormErrors()
        choices = _as_dict(data).get("choices")
        _max_length(errors, ("data", "choices"), choices, AUTOCOMPLETE_CHOICES_MAX)
        return errors.response() if errors else None
    if kind == 9:
        return check_modal(data)
    return None


def check_modal(data: Any) -> web.Response | None:
    """A MODAL callback's data: its custom_id, title and 1 to 5 components (rows of text inputs, labels)."""
    data = _as_dict(data)
    errors = FormErrors()
    path: Path = ("data",)
    _length_between(errors, path + ("custom_id",), data.get("custom_id"), 1, CUSTOM_ID_MAX)
    _length_between(errors, path + ("title",), data.get("title"), 1, MODAL_TITLE_MAX)
    components = data.get("components")
    _length_between(errors, path + ("components",), components, 1, MODAL_COMPONENTS_MAX)
    for index, component in enumerate(_as_list(components)):
        component = _as_dict(component)
        _component(errors, component, path + ("components", index))
        if component.get("type") == ACTION_ROW:
            # Inside a legacy row, a text input carries its own label, so Discord requires it there.
            for child_index, child in enumerate(_as_list(component.get("components"))):
                child = _as_dict(child)
                if child.get("type") == TEXT_INPUT and child.get("label") is None:
                    errors.add(
                        path + ("components", index, "components", child_index, "label"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
    return errors.response() if errors else None


# --- application commands ---------------------------------------------------------------------------
def check_commands(commands: Any) -> web.Response | None:
    """A bulk overwrite's list of commands; each error's path starts with the command's index."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return errors.response()
    for index, command in enumerate(commands):
        _command(errors, _as_dict(command), (index,))
    return errors.response() if errors else None


def check_command(command: Any) -> web.Response | None:
    """One command (create or edit)."""
    errors = FormErrors()
    _command(errors, _as_dict(command), ())
    return errors.response() if errors else None


def _command(errors: FormErrors, command: dict, path: Path) -> None:
    kind = command.get("type", CHAT_INPUT)
    chat_input = kind == CHAT_INPUT
    _name(errors, command.get("name"), path + ("name",), strict=chat_input)
    for locale, name in _as_dict(command.get("name_localizations")).items():
        _name(errors, name, path + ("name_localizations", locale), strict=chat_input)
    if chat_input:
        _description(errors, command.get("description"), path + ("description",))
        for locale, text in _as_dict(command.get("description_localizations")).items():
            _description(errors, text, path + ("description_localizations", locale))
    _options(errors, command.get("options"), path + ("options",))


def _options(errors: FormErrors, options: Any, path: Path) -> None:
    options = _as_list(options)
    _max_length(errors, path, options, COMMAND_OPTIONS_MAX)
    for index, option in enumerate(options):
        option = _as_dict(option)
        where = path + (index,)
        _name(errors, option.get("name"), where + ("name",), strict=True)
        for locale, name in _as_dict(option.get("name_localizations")).items():
            _name(errors, name, where + ("name_localizations", locale), strict=True)
        _description(errors, option.get("description"), where + ("description",))
        for locale, text in _as_dict(option.get("description_localizations")).items():
            _description(errors, text, where + ("description_localizations", locale))
        choices = _as_list(option.get("choices"))
        _max_length(errors, where + ("choices",), choices, OPTION_CHOICES_MAX)
        for choice_index, choice in enumerate(choices):
            choice = _as_dict(choice)
            _length_between(
                errors, where + ("choices", choice_index, "name"), choice.get("name"), 1, CHOICE_NAME_MAX
            )
            _max_length(
                errors,
                where + ("choices", choice_index, "value"),
                choice.get("value"),
                CHOICE_STRING_VALUE_MAX,
            )
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _options(errors, option.get("options"), where + ("options",))


def _name(errors: FormErrors, name: Any, path: Path, *, strict: bool) -> None:
    """``strict``: CHAT_INPUT commands and options (the regex, lowercase); USER and MESSAGE commands may use
    any characters, spaces and capitals included, but still 1 to 32 of them."""
    if not isinstance(name, str):
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not 1 <= len(name) <= COMMAND_NAME_MAX:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {COMMAND_NAME_MAX} in length.")
        return
    if not strict:
        return
    if not all(_name_character(character) for character in name):
        errors.add(path, "STRING_TYPE_REGEX", "String value did not match validation regex.")
    elif any(character.lower() != character for character in name):
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _name_character(character: str) -> bool:
    """One character of ``[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]`` (Python's re has no \\p classes)."""
    if character in "-_" or unicodedata.category(character)[0] in "LN":
        return True
    code = ord(character)
    # The Devanagari and Thai scripts, whose vowel signs and marks are not letters.
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def _description(errors: FormErrors, text: Any, path: Path) -> None:
    _length_between(errors, path, text, 1, COMMAND_DESCRIPTION_MAX)
