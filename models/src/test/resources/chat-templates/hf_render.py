"""Renders a chat the way Hugging Face transformers' apply_chat_template does (its Jinja2
environment, filters and globals, copied from transformers/utils/chat_template_utils.py), to
produce the expected strings of JinjaChatTemplateTest. Needs only jinja2 (3.1.6 was used):

    python3 hf_render.py TEMPLATE.jinja CASE.json

CASE.json holds {"messages": [...], "tools": [...] or null, "add_generation_prompt": bool,
"bos_token": ..., "eos_token": ...}; the rendered text is printed as a JSON string.
"""
import json
import sys
from datetime import datetime

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise Exception(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

template = env.from_string(open(sys.argv[1]).read())
case = json.load(open(sys.argv[2]))
print(json.dumps(template.render(messages=case["messages"], tools=case.get("tools"), documents=None,
                                 add_generation_prompt=case.get("add_generation_prompt", True),
                                 bos_token=case.get("bos_token", ""), eos_token=case.get("eos_token", ""))))
