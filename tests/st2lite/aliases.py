"""ChatOps action aliases (aliases/*.yaml): registered, matched to a chat
line, their parameters extracted and the action run, as st2 does it for
`!asg ...` in Slack (POST /aliasexecution/match_and_execute), then the
ack and result messages rendered as st2 and its chatops pack render them.

Each piece follows st2 3.9 and names its source:
  - the alias schema: st2common/models/api/action.py, ActionAliasAPI;
  - registration: st2common/bootstrap/aliasesregistrar.py;
  - the format parser: st2common/models/utils/action_alias_utils.py,
    ActionAliasFormatParser, extract_parameters, search_regex_tokens,
    inject_immutable_parameters;
  - matching: st2common/util/actionalias_matching.py,
    normalise_alias_format_string, list_format_strings_from_aliases,
    match_command_to_alias, get_matching_alias;
  - execution: st2api/controllers/v1/aliasexecution.py,
    match_and_execute, _post, _schedule_execution, cast_array;
  - the result message: contrib/chatops/actions/format_execution_result.py.
"""
import glob
import os
import re
from re._parser import (parse, AT, AT_BEGINNING, AT_BEGINNING_STRING,  # pylint: disable=E0611
                        AT_END, AT_END_STRING, BRANCH, SUBPATTERN)

import jinja2
import jinja2.sandbox
import yaml

from . import params as P
from . import schema as S


class ParseException(ValueError):
    """st2common.exceptions.content.ParseException."""


class ActionAliasAmbiguityException(ValueError):
    """st2common.exceptions.actionalias: no pattern, or more than one,
    matched. The API answers 400 with its text."""

    def __init__(self, message, matches, command):
        super().__init__(message)
        self.matches, self.command = matches, command


class StackStormDBObjectNotFoundError(LookupError):
    """st2common.exceptions.db: the API answers 404 with its text."""


# ActionAliasAPI.schema (models/api/action.py), draft 3 `required` as st2
# writes it; additionalProperties false: st2 refuses any other key.
ALIAS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "required": True},
        "pack": {"type": "string", "required": True},
        "description": {"type": "string", "default": None},
        "enabled": {"type": "boolean", "default": True},
        "action_ref": {"type": "string", "required": True},
        "formats": {"type": "array", "items": {"anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {
                "display": {"type": "string"},
                "representation": {"type": "array", "items": {"type": "string"}}}}]}},
        "ack": {"type": "object", "properties": {
            "enabled": {"type": "boolean"}, "format": {"type": "string"},
            "extra": {"type": "object"}, "append_url": {"type": "boolean"}}},
        "result": {"type": "object", "properties": {
            "enabled": {"type": "boolean"}, "format": {"type": "string"},
            "extra": {"type": "object"}}},
        "extra": {"type": "object"},
        "immutable_parameters": {"type": "object"},
        "metadata_file": {"type": "string", "default": ""},
    },
    "additionalProperties": False,
}


# ---- the format parser (models/utils/action_alias_utils.py) ----
def _snippets():
    """ActionAliasFormatParser.generate_snippets, verbatim."""
    s = {"key": r"\s*(\S+?)\s*",
         "value": r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(\S+)',
         "ext_value": r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(.+?)'}
    s["pairs"] = r"(?:^|\s+){key}=({value})".format(**s)
    s["ending"] = r".*?(({pairs}\s*)*)$".format(**s)
    s["default"] = r"\s*=\s*(?:{ext_value})\s*".format(**s)
    s["optional"] = "{{" + s["key"] + s["default"] + "}}"
    s["required"] = "{{" + s["key"] + "}}"
    return s


SNIPPETS = _snippets()


def search_regex_tokens(needle_tokens, haystack_tokens, backwards=False):
    """action_alias_utils.py, search_regex_tokens: is an anchor anywhere in
    the parsed regex (into groups and branches)?"""
    if backwards:
        haystack_tokens = reversed(list(haystack_tokens))
    for kind, token in haystack_tokens:
        if kind == SUBPATTERN:
            if search_regex_tokens(needle_tokens, token[3]):
                return True
        elif kind == BRANCH:
            if search_regex_tokens(needle_tokens, token[1][1]):
                return True
        elif (kind, token) in needle_tokens:
            return True
    return False


class ActionAliasFormatParser:
    """action_alias_utils.py, ActionAliasFormatParser: key=value pairs at
    the end of the command are cut off and kept as extra parameters; each
    {{p}} becomes a lazy named group, each {{p=default}} an optional one;
    the regex is anchored at both ends unless the format anchors itself."""

    def __init__(self, alias_format=None, param_stream=None):
        self._format = alias_format or ""
        self._original_param_stream = param_stream or ""
        self._kv_pairs, self._param_stream = self._match_kv_pairs_at_end(
            self._original_param_stream)
        self._optional = re.findall(SNIPPETS["optional"], self._format, re.DOTALL)
        self._regex = self._transform_format_string_into_regex()

    @staticmethod
    def _match_kv_pairs_at_end(stream):  # match_kv_pairs_at_end
        ending = re.match(SNIPPETS["ending"], stream, re.DOTALL)
        if ending and ending.group(1):
            pairs = re.findall(SNIPPETS["pairs"], ending.group(1), re.DOTALL)
            stream = stream.replace(ending.group(1), "")
        else:
            pairs = []
        return pairs, " %s " % stream

    def _transform_format_string_into_regex(self):  # transform_format_string_into_regex
        param_match = r'\1["\']?(?P<\2>(?:(?<=\').+?(?=\')|(?<=").+?(?=")|{.+?}|.+?))["\']?'
        reg = re.sub(r"(\s*)" + SNIPPETS["optional"], r"(?:" + param_match + r")?",
                     self._format)
        reg = re.sub(r"(\s*)" + SNIPPETS["required"], param_match, reg)
        tokens = parse(reg, flags=re.DOTALL)
        if not search_regex_tokens(((AT, AT_BEGINNING), (AT, AT_BEGINNING_STRING)), tokens):
            reg = r"^\s*" + reg
        if not search_regex_tokens(((AT, AT_END), (AT, AT_END_STRING)), tokens, backwards=True):
            reg = reg + r"\s*$"
        return re.compile(reg, re.DOTALL)

    def get_extracted_param_value(self):  # + match_params_in_stream
        matched = self._regex.search(self._param_stream)
        if not matched:
            raise ParseException('Command "%s" doesn\'t match format string "%s"'
                                 % (self._original_param_stream, self._format))
        result = matched.groupdict()
        for param in self._optional:
            value = result[param[0]] or "".join(param[1:])
            if value is not None:
                result[param[0]] = value
        for pair in self._kv_pairs:
            result[pair[0]] = "".join(pair[2:])
        if self._format and not (self._param_stream.strip() or any(result.values())):
            raise ParseException("No value supplied and no default value found.")
        return result


def extract_parameters(format_str, param_stream):
    """action_alias_utils.py, extract_parameters (match_multiple false)."""
    return ActionAliasFormatParser(format_str, param_stream).get_extracted_param_value()


# ---- matching (util/actionalias_matching.py) ----
def normalise_alias_format_string(alias_format):
    """(display, representations, match_multiple)."""
    if isinstance(alias_format, str):
        return alias_format, [alias_format], False
    if isinstance(alias_format, dict):
        representation = alias_format.get("representation") or []
        if isinstance(representation, str):
            representation = [representation]
        return (alias_format.get("display"), representation,
                alias_format.get("match_multiple", False))
    raise TypeError("alias_format '%s' is neither a dictionary or string type."
                    % repr(alias_format))


def list_format_strings_from_aliases(aliases):
    patterns = []
    for alias in aliases:
        for format_ in alias.get("formats") or []:
            display, representations, multiple = normalise_alias_format_string(format_)
            if display and not representations:
                patterns.append({"alias": alias, "format": format_, "display": display,
                                 "representation": "", "match_multiple": False})
            else:
                patterns.extend({"alias": alias, "format": format_, "display": display,
                                 "representation": r, "match_multiple": multiple}
                                for r in representations)
    return patterns


def match_command_to_alias(command, aliases):
    results = []
    for format_ in list_format_strings_from_aliases(aliases):
        try:
            extract_parameters(format_["representation"], command)
        except ParseException:
            continue
        results.append(format_)
    return results


class Aliases:
    """The aliases of a pack, registered as st2 registers them, and run on
    an st2lite Runner of the same pack."""

    def __init__(self, runner):
        self.runner, self.pack = runner, runner.pack
        self.aliases = {}
        for path in sorted(glob.glob(os.path.join(self.pack.root, "aliases", "*.yaml"))):
            alias = self.register(path)
            self.aliases[alias["name"]] = alias

    def register(self, path):
        """aliasesregistrar.py, _get_action_alias_db: a missing `pack` is
        the pack's, another pack's refused; then ActionAliasAPI validates
        (use_default: `enabled` true). Registration does not look the
        action up: a missing one fails each execution (see execute)."""
        with open(path, encoding="utf-8") as f:
            content = yaml.safe_load(f)
        if not isinstance(content, dict):
            raise ValueError("%s: an alias is a mapping" % path)
        content.setdefault("pack", self.pack.ref)
        if content["pack"] != self.pack.ref:
            raise ValueError('Model is in pack "%s" but field "pack" is different: %s'
                             % (self.pack.ref, content["pack"]))
        content.setdefault("metadata_file", os.path.relpath(path, self.pack.root))
        # BaseAPI.validate: use_default and allow_default_none (a null
        # `description` default is no error)
        return S.validate(content, ALIAS_SCHEMA, use_default=True, allow_none=True)

    def match(self, command):
        """actionalias_matching.py, get_matching_alias: enabled aliases
        whose formats are not match_multiple first, then the others; exactly
        one format must match."""
        enabled = [a for a in self.aliases.values() if a.get("enabled", True)]
        single = [a for a in enabled if not any(
            isinstance(f, dict) and f.get("match_multiple") for f in a.get("formats") or [])]
        matches = match_command_to_alias(command, single)
        if len(matches) > 1:
            raise ActionAliasAmbiguityException(
                "Command '%s' matched more than 1 pattern" % command, matches, command)
        if not matches:
            multiple = [a for a in enabled if a not in single]
            matches = match_command_to_alias(command, multiple)
            if len(matches) > 1:
                raise ActionAliasAmbiguityException(
                    "Command '%s' matched more than 1 (multi) pattern" % command,
                    matches, command)
            if not matches:
                raise ActionAliasAmbiguityException(
                    "Command '%s' matched no patterns" % command, [], command)
        return matches[0]

    def parameters(self, command):
        """The alias and the action parameters st2 would request: the
        extracted values, the immutable parameters merged in (an override
        refused), each cast to the action's parameter type (an array from
        "a, b": aliasexecution.py, cast_array)."""
        format_ = self.match(command)
        alias = format_["alias"]
        params = extract_parameters(format_["representation"], command)
        # inject_immutable_parameters: rendered with the action context
        # (user, source_channel, ...), an override by the chat line refused
        immutable = alias.get("immutable_parameters") or {}
        overridden = [k for k in immutable if k in params]
        if overridden:
            raise ValueError("Immutable arguments cannot be overriden: {}"
                             .format(",".join(overridden)))
        context = {"user": "stanley", "api_user": "chatops", "source_channel": "chatops",
                   "action_alias_ref": {"name": alias["name"]}}
        for k, v in immutable.items():
            params[k] = P._template(v).render(context) if P.is_jinja(v) else v
        meta = self.pack.action(alias["action_ref"])
        if meta is None:  # aliasexecution.py, _schedule_execution
            raise StackStormDBObjectNotFoundError('Action with ref "%s" not found '
                                                  % alias["action_ref"])
        return alias, self._cast(alias["action_ref"], meta, params)

    def _cast(self, ref, meta, params):
        """action_param_utils.py, cast_params, with the alias API's override
        for arrays."""
        schemas = dict(self.runner._runner_params(meta))
        schemas.update(meta.get("parameters") or {})
        for k, v in list(params.items()):
            kind = (schemas.get(k) or {}).get("type")
            if not kind:
                continue
            try:
                if kind == "array":
                    params[k] = v if isinstance(v, list) else [x.strip() for x in v.split(",")]
                else:
                    params[k] = P.cast(v, {"type": kind})
            except Exception as e:
                raise ValueError('Failed to cast value "%s" (type: %s) for parameter "%s" of '
                                 'type "%s": %s. Perhaps the value is of an invalid type?'
                                 % (v, type(v).__name__, k, kind, e)) from e
        return params

    def execute(self, command):
        """POST /aliasexecution/match_and_execute, run to the end (st2lite
        runs an execution synchronously). Returns a ChatReply: the execution
        (None when st2 refused the request: `error` says why, as the API's
        400/404 body would), and the ack and result messages."""
        try:
            alias, params = self.parameters(command)
        except (ValueError, LookupError) as e:
            return ChatReply(None, None, error=str(e))
        ex = self.runner.run(alias["action_ref"], params)
        if ex.refused is not None:  # action_service.request refused it: 400
            return ChatReply(alias, ex, error=ex.refused)
        return ChatReply(alias, ex, ack=render_ack(alias, ex), result=render_result(alias, ex))


class ChatReply:
    def __init__(self, alias, execution, ack=None, result=None, error=None):
        self.alias, self.execution = alias, execution
        self.ack, self.result, self.error = ack, result, error

    def __repr__(self):
        return "<ChatReply %s %s>" % (self.execution, self.error or self.result)


def _execution_api(ex, requested=False):
    """The fields of ActionExecutionAPI the formats read."""
    return {"id": ex.id, "status": "requested" if requested else ex.status,
            "action": {"ref": ex.ref}, "parameters": dict(ex.live),
            "result": None if requested else ex.result}


def render_ack(alias, ex):
    """aliasexecution.py, _post: ack.format rendered by render_values
    (StrictUndefined) over {execution, actionalias} as the execution was
    requested; an undefined name gives st2's message instead of failing.
    None when the alias has no ack format (the chat client's default)."""
    ack = alias.get("ack") or {}
    if ack.get("enabled") is False or "format" not in ack:
        return None
    try:
        return P._template(ack["format"]).render(
            {"execution": _execution_api(ex, requested=True), "actionalias": alias})
    except jinja2.UndefinedError as e:
        return 'Cannot render "format" in field "ack" for alias. ' + str(e)


_RESULT_ENV = jinja2.sandbox.SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
_RESULT_ENV.filters.update(P._ENV.filters)
_RESULT_ENV.tests["in"] = lambda item, seq: item in seq


def render_result(alias, ex):
    """format_execution_result.py, FormatResultAction.run: result.format
    over {execution, alias} in get_jinja_environment(allow_undefined=True)
    (an undefined name renders empty). None when result.enabled is false;
    an alias with no format would get the chatops pack's default template,
    which st2lite does not carry (every alias of this pack has one)."""
    result = alias.get("result") or {}
    if result.get("enabled", True) is False:
        return None
    if "format" not in result:
        raise NotImplementedError("the chatops pack's default result template")
    return _RESULT_ENV.from_string(result["format"]).render(
        {"execution": _execution_api(ex), "alias": alias})
