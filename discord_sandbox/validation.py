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
  descriptions 1-100; 25 options, 25 choices);
- linked roles: ``developers/resources/application-role-connection-metadata.mdx`` (at most 5 metadata records;
  ``type`` 1-8, ``key`` of ``a-z``, ``0-9`` and ``_``, 1-50 characters, unique; name 1-100, description 1-200)
  and ``developers/resources/user.mdx`` "Update Current User Application Role Connection" (platform_name up to
  50, platform_username up to 100, metadata values stringified, up to 100 characters). Where the docs are
  silent, the OpenAPI spec (``ApplicationRoleConnectionsMetadataItemRequest``,
  ``UpdateApplicationUserRoleConnectionRequest``): localizations of 1-100 (names) and 1-200 (descriptions)
  characters or null, at most 5 metadata keys, each value 1-100 characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
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
ROLE_CONNECTION_METADATA_MAX = 5
METADATA_KEY_MAX = 50
METADATA_NAME_MAX = 100
METADATA_DESCRIPTION_MAX = 200
PLATFORM_NAME_MAX = 50
PLATFORM_USERNAME_MAX = 100
ROLE_CONNECTION_KEYS_MAX = 5
METADATA_VALUE_MAX = 100

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
# Application role connection metadata types: INTEGER_LESS_THAN_OR_EQUAL .. INTEGER_NOT_EQUAL,
# DATETIME_LESS_THAN_OR_EQUAL, DATETIME_GREATER_THAN_OR_EQUAL, BOOLEAN_EQUAL, BOOLEAN_NOT_EQUAL.
METADATA_TYPES = (1, 2, 3, 4, 5, 6, 7, 8)
INTEGER_METADATA = frozenset({1, 2, 3, 4})
DATETIME_METADATA = frozenset({5, 6})
BOOLEAN_METADATA = frozenset({7, 8})
METADATA_KEY = re.compile(r"[a-z0-9_]+")
INTEGER_STRING = re.compile(r"-?[0-9]+")


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


# --- linked roles -----------------------------------------------------------------------------------
# Discord documents the limits, not every error code: where it names none (a duplicate key, a key the app
# has not registered, a value of the wrong format) the codes follow the shape of its others.
def check_role_connection_metadata(records: Any) -> web.Response | None:
    """The body of a metadata PUT: a list of at most 5 records (null, like an empty list, clears them)."""
    errors = FormErrors()
    if records is None:
        return None
    if not isinstance(records, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return errors.response()
    _max_length(errors, (), records, ROLE_CONNECTION_METADATA_MAX)
    seen: set[str] = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.add((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
            continue
        _metadata_record(errors, record, (index,))
        key = record.get("key")
        if isinstance(key, str) and key in seen:
            errors.add((index, "key"), "DUPLICATE_KEY", "Metadata keys must be unique.")
        if isinstance(key, str):
            seen.add(key)
    return errors.response() if errors else None


def _metadata_record(errors: FormErrors, record: dict, path: Path) -> None:
    kind = record.get("type")
    if kind is None:
        errors.add(path + ("type",), "BASE_TYPE_REQUIRED", "This field is required")
    elif not isinstance(kind, int) or isinstance(kind, bool) or kind not in METADATA_TYPES:
        choices = ", ".join(str(choice) for choice in METADATA_TYPES)
        errors.add(path + ("type",), "BASE_TYPE_CHOICES", f"Value must be one of ({choices}).")
    key = record.get("key")
    if _string_between(errors, path + ("key",), key, 1, METADATA_KEY_MAX) and not METADATA_KEY.fullmatch(key):
        errors.add(path + ("key",), "STRING_TYPE_REGEX", "String value did not match validation regex.")
    _string_between(errors, path + ("name",), record.get("name"), 1, METADATA_NAME_MAX)
    _string_between(errors, path + ("description",), record.get("description"), 1, METADATA_DESCRIPTION_MAX)
    for field, limit in (
        ("name_localizations", METADATA_NAME_MAX),
        ("description_localizations", METADATA_DESCRIPTION_MAX),
    ):
        localizations = record.get(field)
        if localizations is None:
            continue
        if not isinstance(localizations, dict):
            errors.add(path + (field,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
            continue
        for locale, text in localizations.items():
            if text is not None:
                _string_between(errors, path + (field, locale), text, 1, limit)


def check_role_connection(body: Any, *, registered: list[dict]) -> web.Response | None:
    """The body of a user's role connection PUT, its metadata checked against the app's ``registered``
    records: each key one of theirs, each value in the format of the key's type."""
    errors = FormErrors()
    if not isinstance(body, dict):
        errors.add((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
        return errors.response()
    for field, limit in (("platform_name", PLATFORM_NAME_MAX), ("platform_username", PLATFORM_USERNAME_MAX)):
        if body.get(field) is not None:
            _string_between(errors, (field,), body[field], 0, limit)
    metadata = body.get("metadata")
    if metadata is None:
        return errors.response() if errors else None
    if not isinstance(metadata, dict):
        errors.add(("metadata",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
        return errors.response()
    if len(metadata) > ROLE_CONNECTION_KEYS_MAX:
        errors.add(
            ("metadata",), "BASE_TYPE_MAX_LENGTH", f"Must be {ROLE_CONNECTION_KEYS_MAX} or fewer in length."
        )
    types = {record["key"]: record["type"] for record in registered}
    for key, value in metadata.items():
        path: Path = ("metadata", key)
        # discord-api-types (0.37.24, "metadata values can be numbers") types them string | number; a
        # JSON boolean (a Python int) gets as far as the type's format, which only BOOLEAN_* accept.
        if not isinstance(value, (str, int, float)):
            errors.add(path, "BASE_TYPE_STRING", "This field must be a string or a number.")
            continue
        if not 1 <= len(metadata_value_string(value)) <= METADATA_VALUE_MAX:
            errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {METADATA_VALUE_MAX} in length.")
            continue
        if key not in types:
            errors.add(path, "METADATA_KEY_UNKNOWN", "Not a metadata key the application has registered.")
            continue
        _metadata_value(errors, path, value, types[key])
    return errors.response() if errors else None


def _metadata_value(errors: FormErrors, path: Path, value: Any, kind: int) -> None:
    shown = value if isinstance(value, str) else json.dumps(value)
    if kind in INTEGER_METADATA:
        if isinstance(value, str) and INTEGER_STRING.fullmatch(value):
            return
        if isinstance(value, int) and not isinstance(value, bool):
            return
        if isinstance(value, float) and value.is_integer():
            return
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{shown}" is not int.')
    elif kind in DATETIME_METADATA:
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
                return
            except ValueError:
                pass
        errors.add(path, "DATE_TYPE_PARSE", f'Could not parse "{shown}". Should be ISO8601.')
    elif kind in BOOLEAN_METADATA:
        if value in ("1", "0") or (not isinstance(value, str) and value in (0, 1)):
            return
        errors.add(path, "BOOLEAN_TYPE_COERCE", f'Value "{shown}" is not a boolean (1 or 0).')


def metadata_value_string(value: Any) -> str:
    """What Discord stores and answers for a metadata value: its string form, a boolean as 1 or 0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _string_between(errors: FormErrors, path: Path, value: Any, low: int, high: int) -> bool:
    """True when ``value`` is a string of ``low`` to ``high`` characters; else the error, required or typed."""
    if value is None:
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return False
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_STRING", "This field must be a string.")
        return False
    if not low <= len(value) <= high:
        if low == 0:
            errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
        else:
            errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")
        return False
    return True
