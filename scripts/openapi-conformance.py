#!/usr/bin/env python3
"""Checks a running sqlstore server against its OpenAPI document.

    scripts/openapi-conformance.py http://127.0.0.1:8080 [--spec PATH] [--quiet]

It takes a scripted tour of every operation of the document and of every error it can
trigger deterministically (validation, conflicts, idempotency, pagination, bad JSON, bad
parameters, unknown ids, bodies over the limit...) and checks every response against the
document: the status must be documented for the operation, the content type must be the
documented one, the documented required headers must be there and valid, and a JSON body must
validate against the documented schema (JSON Schema 2020-12, `$ref`s resolved within the
document). It also checks what the tour expects of each answer (its status and error code)
and a few invariants (stock, idempotent replays, cursor walks).

Run it against a server on an empty, migrated database (it creates its own rows, with unique
names, so a database it ran against before also works). One line per check, then a summary;
exit status 1 if any check failed, 2 if the server could not be reached.

Checks marked XFAIL are known server bugs, reported but not failing the run; when one is
fixed it shows XPASS, and its mark should be removed.

Needs Python 3.9+, PyYAML and jsonschema (>= 4.18).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import sys
import urllib.parse
import uuid

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:sqlstore:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DEFAULT_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "SQLStoreHTTP",
                            "Resources", "openapi.yaml")
BODY_LIMIT = 1 << 20


# --- The document ------------------------------------------------------------------------------

def pointer_escape(segment: str) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def make_format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

    @checker.checks("date-time", raises=ValueError)
    def date_time(value):
        if not isinstance(value, str):
            return True
        if not rfc3339.match(value):
            return False
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    @checker.checks("int32")
    def int32(value):
        return not isinstance(value, int) or isinstance(value, bool) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def int64(value):
        return not isinstance(value, int) or isinstance(value, bool) or -(2**63) <= value < 2**63

    return checker


class Spec:
    def __init__(self, doc: dict):
        self.doc = doc
        self.registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc))
        self.format_checker = make_format_checker()
        self.validators: dict[str, Draft202012Validator] = {}
        self.routes = []  # (method, template, regex, literal length)
        for template, item in (doc.get("paths") or {}).items():
            regex = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$")
            literal = len(re.sub(r"\{[^}]*\}", "", template))
            for method in METHODS:
                if method in item:
                    self.routes.append((method, template, regex, literal))

    def at(self, pointer: str):
        value = self.doc
        for segment in pointer.lstrip("/").split("/"):
            if not segment:
                continue
            segment = segment.replace("~1", "/").replace("~0", "~")
            value = value[int(segment)] if isinstance(value, list) else value[segment]
        return value

    def resolve(self, value, pointer: str):
        """Follows local `$ref`s (of response, header and parameter objects)."""
        seen = set()
        while isinstance(value, dict) and "$ref" in value:
            ref = value["$ref"]
            if not ref.startswith("#") or ref in seen:
                raise ValueError(f"unresolvable $ref {ref} at {pointer}")
            seen.add(ref)
            pointer = ref[1:]
            value = self.at(pointer)
        return value, pointer

    def operation(self, method: str, path: str):
        candidates = [r for r in self.routes if r[0] == method.lower() and r[2].match(path)]
        if not candidates:
            return None
        method, template, _, _ = max(candidates, key=lambda r: r[3])
        return template, self.doc["paths"][template][method], \
            "/paths/" + pointer_escape(template) + "/" + method

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self.validators:
            ref = DOC_URI + "#" + urllib.parse.quote(pointer, safe="/~-_.")
            self.validators[pointer] = Draft202012Validator(
                {"$ref": ref}, registry=self.registry, format_checker=self.format_checker)
        return self.validators[pointer]

    def errors(self, pointer: str, instance) -> list[str]:
        problems = []
        for error in sorted(self.validator(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{where}: {error.message[:300]}")
        return problems


def lint_document(spec: Spec) -> list[tuple[str, bool, str]]:
    """Sanity checks of the document itself: (label, ok, detail)."""
    doc = spec.doc
    results = []
    results.append(("document is OpenAPI 3.1", str(doc.get("openapi", "")).startswith("3.1"),
                    f"openapi: {doc.get('openapi')}"))
    broken = []

    def walk(value, pointer):
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str):
                try:
                    spec.at(ref[1:]) if ref.startswith("#") else broken.append(f"{pointer}: external {ref}")
                except (KeyError, IndexError, ValueError):
                    broken.append(f"{pointer}: {ref}")
            for key, child in value.items():
                walk(child, pointer + "/" + pointer_escape(key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, f"{pointer}/{index}")

    walk(doc, "")
    results.append(("every $ref resolves within the document", not broken, "; ".join(broken[:5])))
    ids = [op.get("operationId") for t in doc.get("paths", {}).values() for m, op in t.items() if m in METHODS]
    results.append(("operationIds are present and unique", None not in ids and len(ids) == len(set(ids)),
                    f"{len(ids)} operations"))
    bad_schemas = []
    for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as error:  # noqa: BLE001 - reported as a finding
            bad_schemas.append(f"{name}: {str(error).splitlines()[0]}")
    results.append(("component schemas are valid JSON Schema 2020-12", not bad_schemas, "; ".join(bad_schemas[:5])))
    undescribed = []
    for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
        def props(s, where):
            for key, prop in (s.get("properties") or {}).items():
                target = prop
                if "description" not in prop and "$ref" in prop:
                    target, _ = spec.resolve(prop, where)
                if "description" not in target:
                    undescribed.append(f"{where}.{key}")
                if isinstance(prop, dict) and prop.get("type") == "object":
                    props(prop, f"{where}.{key}")
                if isinstance(prop, dict) and isinstance(prop.get("items"), dict):
                    props(prop["items"], f"{where}.{key}[]")
        props(schema, name)
    results.append(("every property of every schema has a description", not undescribed, ", ".join(undescribed[:10])))
    return results


# --- HTTP --------------------------------------------------------------------------------------

class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body
        self._json = None
        self.json_error = None
        if body:
            try:
                self._json = json.loads(body)
            except ValueError as error:
                self.json_error = str(error)

    @property
    def json(self):
        return self._json

    def get(self, key, default=None):
        return self._json.get(key, default) if isinstance(self._json, dict) else default

    @property
    def code(self):
        return self.get("code")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class Client:
    def __init__(self, base_url: str, token: str | None = None):
        self.token = token
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SystemExit(f"not an http(s) base URL: {base_url}")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.prefix = parsed.path.rstrip("/")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        connection = cls(self.host, self.port, timeout=60)
        try:
            connection.putrequest(method, self.prefix + path, skip_accept_encoding=True)
            sent = {k.lower() for k in (headers or {})}
            # An Authorization of None in `headers` sends none: an anonymous request.
            if self.token and "authorization" not in sent:
                connection.putheader("Authorization", f"Bearer {self.token}")
            for name, value in (headers or {}).items():
                if value is not None:
                    connection.putheader(name, value)
            if body is not None:
                if "content-type" not in sent:
                    connection.putheader("Content-Type", "application/json")
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            if body is not None:
                try:
                    connection.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may answer (413) and close before reading it all
            response = connection.getresponse()
            data = response.read()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()


# --- The tour ----------------------------------------------------------------------------------

class Tour:
    def __init__(self, spec: Spec, client: Client, quiet: bool):
        self.spec = spec
        self.client = client
        self.quiet = quiet
        self.counts = {"PASS": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}
        self.failures: list[str] = []
        self.xfails: list[str] = []
        self.exercised: set[tuple[str, str, str]] = set()  # (method, template, status)
        self.run_id = uuid.uuid4().hex[:8]

    # Reporting

    def report(self, outcome: str, label: str, detail: str = ""):
        self.counts[outcome] += 1
        line = f"{outcome:5} {label}" + (f"  -- {detail}" if detail else "")
        if outcome == "FAIL":
            self.failures.append(line)
        if outcome in ("XFAIL", "XPASS"):
            self.xfails.append(line)
        if not self.quiet or outcome != "PASS":
            print(line, flush=True)

    def check(self, label: str, ok: bool, detail: str = "", xfail: str | None = None):
        if xfail:
            self.report("XPASS" if ok else "XFAIL", label,
                        ("fixed? remove the xfail mark: " + xfail) if ok else (xfail + (f" [{detail}]" if detail else "")))
        else:
            self.report("PASS" if ok else "FAIL", label, "" if ok else detail)
        return ok

    # Requests

    def call(self, method: str, path: str, *, body=None, raw: bytes | None = None, headers: dict | None = None,
             expect=None, code: str | tuple | None = None, note: str = "", xfail: str | None = None) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        shown = path if len(path) <= 90 else path[:87] + "..."
        label = f"{method} {shown}" + (f" ({note})" if note else "")
        try:
            response = self.client.request(method, path, data, headers)
        except (OSError, http.client.HTTPException) as error:
            self.check(label, False, f"request failed: {error!r}", xfail)
            return Response(0, {}, b"")
        problems = self.conformance(method, path, response)
        expected = {expect} if isinstance(expect, int) else set(expect or ())
        if expected and response.status not in expected:
            problems.append(f"expected status {sorted(expected)}, got {response.status}"
                            + (f" {response.code}" if response.code else ""))
        codes = {code} if isinstance(code, str) else set(code or ())
        if codes and response.code not in codes:
            problems.append(f"expected code {'/'.join(sorted(codes))}, got {response.code!r}")
        label += f" -> {response.status}" + (f" {response.code}" if response.code and response.status >= 400 else "")
        self.check(label, not problems, "; ".join(problems), xfail)
        return response

    def conformance(self, method: str, path: str, response: Response) -> list[str]:
        spec = self.spec
        found = spec.operation(method, path.split("?")[0])
        if not found:
            return [f"{method} {path} is not an operation of the document"]
        template, operation, op_pointer = found
        responses = operation.get("responses") or {}
        status = str(response.status)
        key = status if status in responses else (status[0] + "XX" if status[0] + "XX" in responses else
                                                   ("default" if "default" in responses else None))
        if key is None:
            return [f"status {status} is not documented for {method.upper()} {template}"
                    + (f" (body: {response.body[:200]!r})" if response.body else "")]
        self.exercised.add((method.lower(), template, key))
        documented, pointer = spec.resolve(responses[key], op_pointer + "/responses/" + pointer_escape(key))
        problems = []
        # Headers
        for name, header in (documented.get("headers") or {}).items():
            header, header_pointer = spec.resolve(header, pointer + "/headers/" + pointer_escape(name))
            value = response.headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"required header {name} is missing")
                continue
            schema, schema_pointer = header.get("schema"), header_pointer + "/schema"
            if schema is None:
                continue
            resolved, _ = spec.resolve(schema, schema_pointer)
            instance = value
            if resolved.get("type") == "integer":
                try:
                    instance = int(value)
                except ValueError:
                    problems.append(f"header {name}: {value!r} is not an integer")
                    continue
            problems += [f"header {name}: {e}" for e in spec.errors(schema_pointer, instance)]
        # Body
        content = documented.get("content")
        if not content:
            if response.body:
                problems.append(f"no body is documented, got {len(response.body)} bytes")
            return problems
        media = response.media_type
        if media not in content:
            return problems + [f"content type {response.headers.get('content-type')!r} is not one of {sorted(content)}"]
        if "schema" not in content[media]:
            return problems
        schema_pointer = pointer + "/content/" + pointer_escape(media) + "/schema"
        if media == "application/json" or media.endswith("+json"):
            if response.json_error or not response.body:
                return problems + [f"body is not JSON: {response.json_error or 'empty'}"]
            instance = response.json
        else:
            try:
                instance = response.body.decode("utf-8")
            except UnicodeDecodeError:
                return problems + ["body is not UTF-8 text"]
            if media in ("application/yaml", "application/x-yaml", "text/yaml") or media.endswith("+yaml"):
                # Validated as what a client that parses it gets, as schemathesis does.
                try:
                    instance = yaml.safe_load(instance)
                except yaml.YAMLError as error:
                    return problems + [f"body is not YAML: {str(error)[:200]}"]
        return problems + spec.errors(schema_pointer, instance)

    # Helpers

    def unique(self, stem: str) -> str:
        return f"{stem}-{self.run_id}-{uuid.uuid4().hex[:6]}"

    def bad_body_cases(self, method: str, path: str, good: dict, note: str):
        """The 400s and the 413 every body-reading operation answers."""
        self.call(method, path, raw=b"{not json", expect=400, code=("invalid_body", "malformed_json"),
                  note=f"{note}: malformed JSON")
        self.call(method, path, raw=b"", expect=400, code=("invalid_body", "malformed_json"), note=f"{note}: empty body")
        self.call(method, path, raw=b"[1,2]", expect=400, code="invalid_body", note=f"{note}: array body")
        first = next(iter(good))
        missing = {k: v for k, v in good.items() if k != first}
        self.call(method, path, body=missing, expect=400, code="invalid_body", note=f"{note}: missing {first}")
        self.call(method, path, body={**good, first: {"nested": True}}, expect=400, code="invalid_body",
                  note=f"{note}: {first} of the wrong type")
        self.call(method, path, body={**good, first: None}, expect=400, code="invalid_body", note=f"{note}: {first} null")
        padded = json.dumps(good).encode()
        self.call(method, path, raw=padded + b" " * (BODY_LIMIT + 1 - len(padded)), expect=413,
                  code="payload_too_large", note=f"{note}: body of 1 MiB + 1 byte")

    def bad_ids(self, method: str, template: str, body=None, note=""):
        for bad in ("abc", "0", "-1", "9223372036854775808", "1.5"):
            self.call(method, template.replace("{}", bad, 1), body=body, expect=400, code="invalid_parameter",
                      note=(note + ": " if note else "") + f"id {bad!r}")

    # The tour

    def run(self):
        sections = [self.operations, self.users, self.products, self.orders, self.organizations,
                    self.tokens, self.known_bugs]
        for section in sections:
            if not self.quiet:
                print(f"# {section.__name__}", flush=True)
            try:
                section()
            except Exception as error:  # noqa: BLE001 - a broken step must not hide the others
                self.check(f"{section.__name__}: the tour section ran to the end", False,
                           f"{type(error).__name__}: {error}")
        self.coverage()

    def operations(self):
        live = self.call("GET", "/health/live", expect=200)
        self.check("GET /health/live says ok", live.get("status") == "ok")
        self.call("GET", "/health/ready", expect=200)
        metrics = self.call("GET", "/metrics", expect=200)
        self.check("GET /metrics is Prometheus text", b"# TYPE" in metrics.body
                   and "version=0.0.4" in metrics.headers.get("content-type", ""),
                   metrics.headers.get("content-type", ""))
        served = self.call("GET", "/openapi.yaml", expect=200)
        try:
            served_doc = yaml.safe_load(served.body)
        except yaml.YAMLError as error:
            served_doc = None
            self.check("GET /openapi.yaml is YAML", False, str(error)[:200])
        if served_doc is not None:
            self.check("GET /openapi.yaml is an OpenAPI 3.1 document",
                       isinstance(served_doc, dict) and str(served_doc.get("openapi", "")).startswith("3.1"))
            same = served_doc == self.spec.doc
            print(f"INFO  the served document {'is' if same else 'is NOT'} the one checked against"
                  + ("" if same else " (a server built before the document's last change?)"), flush=True)

    def users(self):
        email = self.unique("ada") + "@example.com"
        ada = self.call("POST", "/users", body={"email": email, "name": "Ada Lovelace"}, expect=201)
        self.user1 = ada.get("id")
        self.check("POST /users returns what was sent, at version 1, with no active organization",
                   ada.get("email") == email and ada.get("name") == "Ada Lovelace" and ada.get("version") == 1
                   and ada.get("active_org_id") is None)
        trimmed = self.unique("grace") + "@example.com"
        grace = self.call("POST", "/users", body={"email": f"  {trimmed} ", "name": "  Grace Hopper  "}, expect=201,
                          note="padded email and name")
        self.user2 = grace.get("id")
        self.check("POST /users trims email and name", grace.get("email") == trimmed and grace.get("name") == "Grace Hopper",
                   f"{grace.get('email')!r} {grace.get('name')!r}")
        self.user3 = self.call("POST", "/users", body={"email": self.unique("linus") + "@example.com", "name": "Linus"},
                               expect=201).get("id")
        self.call("POST", "/users", body={"email": email, "name": "Again"}, expect=409, code="duplicate",
                  note="email taken")
        for bad in ("no-at-sign", "two@@example.com", "@example.com", "ada@localhost", "ada@.example.com",
                    "ada@example.com.", "a da@example.com", "x" * 250 + "@example.com"):
            self.call("POST", "/users", body={"email": bad, "name": "Bad"}, expect=422, code="invalid_input",
                      note=f"email {bad[:30]!r}")
        self.call("POST", "/users", body={"email": self.unique("n") + "@example.com", "name": "   "}, expect=422,
                  code="invalid_input", note="blank name")
        self.call("POST", "/users", body={"email": self.unique("n") + "@example.com", "name": "x" * 256}, expect=422,
                  code="invalid_input", note="name of 256 characters")
        self.call("POST", "/users", body={"email": self.unique("n") + "@example.com", "name": "a\u0000b"}, expect=422,
                  code="invalid_input", note="NUL in name")
        self.bad_body_cases("POST", "/users", {"email": self.unique("b") + "@example.com", "name": "B"}, "create user")
        exact = json.dumps({"email": self.unique("limit") + "@example.com", "name": "Limit"}).encode()
        self.call("POST", "/users", raw=exact + b" " * (BODY_LIMIT - len(exact)), expect=201,
                  note="body of exactly 1 MiB")

        page = self.call("GET", "/users", expect=200)
        self.check("GET /users defaults to page 1 of 20", page.get("page") == 1 and page.get("page_size") == 20)
        two = self.call("GET", "/users?page=1&page_size=2", expect=200)
        self.check("GET /users?page_size=2 has 2 items and consistent totals",
                   len(two.get("items", [])) == 2 and two.get("total_pages") == -(-two.get("total", 0) // 2))
        clamped = self.call("GET", "/users?page_size=0", expect=200)
        self.check("page_size=0 is clamped to 1", clamped.get("page_size") == 1)
        clamped = self.call("GET", "/users?page_size=1000", expect=200)
        self.check("page_size=1000 is clamped to 100", clamped.get("page_size") == 100)
        self.call("GET", "/users?page_size=-7", expect=200)
        past = self.call("GET", "/users?page=1000000&page_size=100", expect=200)
        self.check("a page past the end is empty but counts", past.get("items") == [] and past.get("total", 0) >= 3)
        for query in ("page=0", "page=1000001", "page=abc", "page=", "page_size=abc", "page_size=1.5",
                      "page=99999999999999999999"):
            self.call("GET", f"/users?{query}", expect=400, code="invalid_parameter")

        self.call("GET", f"/users/{self.user1}", expect=200)
        self.call("GET", "/users/9223372036854775807", expect=404, code="not_found", note="unknown user")
        self.bad_ids("GET", "/users/{}")

        updated = self.call("PATCH", f"/users/{self.user1}", body={"version": 1, "name": "Ada King"}, expect=200)
        self.check("PATCH /users changes the name and increments the version",
                   updated.get("name") == "Ada King" and updated.get("version") == 2 and updated.get("email") == email)
        self.call("PATCH", f"/users/{self.user1}", body={"version": 2, "email": None, "name": None}, expect=200,
                  note="nulls change nothing")
        stale = self.call("PATCH", f"/users/{self.user1}", body={"version": 1, "name": "Stale"}, expect=409,
                          code="version_conflict", note="stale version")
        self.check("version_conflict names both versions",
                   stale.get("details") == {"expected_version": 1, "current_version": 3}, str(stale.get("details")))
        self.call("PATCH", f"/users/{self.user1}", body={"version": 3, "email": trimmed}, expect=409, code="duplicate",
                  note="email of another user")
        self.call("PATCH", f"/users/{self.user1}", body={"version": 3, "email": "nope"}, expect=422,
                  code="invalid_input", note="invalid email")
        self.call("PATCH", f"/users/{self.user1}", body={"version": 3, "name": ""}, expect=422, code="invalid_input",
                  note="empty name")
        self.call("PATCH", "/users/9223372036854775807", body={"version": 1}, expect=404, code="not_found")
        self.call("PATCH", f"/users/{self.user1}", body={"version": 2147483648}, expect=400, code="invalid_body",
                  note="version beyond int32")
        self.bad_body_cases("PATCH", f"/users/{self.user1}", {"version": 3, "name": "N"}, "update user")
        self.bad_ids("PATCH", "/users/{}", body={"version": 1})

    def products(self):
        sku = self.unique("MUG")
        mug = self.call("POST", "/products", body={"sku": sku, "name": "Mug", "description": "A mug", "price": "12.50",
                                                   "stock_quantity": 10}, expect=201, note="price as a string")
        self.product1 = mug.get("id")
        self.check("POST /products echoes the product", mug.get("price") == "12.50" and mug.get("stock_quantity") == 10
                   and mug.get("description") == "A mug" and mug.get("version") == 1)
        cup = self.call("POST", "/products", body={"sku": self.unique("CUP"), "name": "Cup", "price": 29.9, "stock": 5},
                        expect=201, note="price as a number, stock alias")
        self.product2 = cup.get("id")
        self.check("a number price is exact and stock is stock_quantity",
                   cup.get("price") == "29.90" and cup.get("stock_quantity") == 5 and cup.get("description") is None)
        empty = self.call("POST", "/products", body={"sku": self.unique("NONE"), "name": "Sold out", "price": "0"},
                          expect=201, note="no stock given")
        self.product_empty = empty.get("id")
        self.check("stock defaults to 0 and price 0 is 0.00", empty.get("stock_quantity") == 0 and empty.get("price") == "0.00")
        dear = self.call("POST", "/products", body={"sku": self.unique("DEAR"), "name": "Dear", "price": "99999999.99",
                                                    "stock_quantity": 100}, expect=201, note="highest price")
        self.product_dear = dear.get("id")
        self.call("POST", "/products", body={"sku": sku, "name": "Mug", "price": "1.00"}, expect=409, code="duplicate",
                  note="sku taken")
        for price, status in (("12.345", 422), ("-1.00", 422), ("100000000", 422), (12.345, 422), (-0.01, 422),
                              ("abc", 400), ("1e3", 400), ("", 400), (True, 400), ("1.", 400)):
            self.call("POST", "/products", body={"sku": self.unique("P"), "name": "P", "price": price}, expect=status,
                      code="invalid_input" if status == 422 else "invalid_body", note=f"price {price!r}")
        for field, value in (("stock_quantity", -1), ("stock_quantity", 2147483648), ("stock", -5)):
            self.call("POST", "/products", body={"sku": self.unique("P"), "name": "P", "price": "1.00", field: value},
                      expect=422, code="invalid_input", note=f"{field} {value}")
        self.call("POST", "/products", body={"sku": self.unique("P"), "name": "P", "price": "1.00",
                                             "stock_quantity": 2**64}, expect=400, code="invalid_body",
                  note="stock_quantity beyond int64")
        self.call("POST", "/products", body={"sku": "  ", "name": "P", "price": "1.00"}, expect=422,
                  code="invalid_input", note="blank sku")
        self.call("POST", "/products", body={"sku": "S" * 101, "name": "P", "price": "1.00"}, expect=422,
                  code="invalid_input", note="sku of 101 characters")
        self.bad_body_cases("POST", "/products", {"sku": self.unique("B"), "name": "B", "price": "1.00"}, "create product")

        page = self.call("GET", "/products?page_size=100", expect=200)
        self.check("GET /products lists products", page.get("total", 0) >= 4)
        stocked = self.call("GET", "/products?in_stock=true&page_size=100", expect=200)
        self.check("in_stock=true lists only products in stock",
                   all(p.get("stock_quantity", 0) > 0 for p in stocked.get("items", []))
                   and self.product_empty not in [p.get("id") for p in stocked.get("items", [])])
        self.call("GET", "/products?in_stock=1", expect=200)
        self.call("GET", "/products?in_stock=false&page=2&page_size=1", expect=200)
        for query in ("in_stock=yes", "in_stock=", "page=0", "page_size=x"):
            self.call("GET", f"/products?{query}", expect=400, code="invalid_parameter")

        self.call("GET", f"/products/{self.product1}", expect=200)
        self.call("GET", "/products/9223372036854775807", expect=404, code="not_found")
        self.bad_ids("GET", "/products/{}")

        patched = self.call("PATCH", f"/products/{self.product1}", body={"version": 1, "price": 11, "stock": 20},
                            expect=200, note="number price, stock alias")
        self.check("PATCH /products changes price and stock", patched.get("price") == "11.00"
                   and patched.get("stock_quantity") == 20 and patched.get("version") == 2 and patched.get("name") == "Mug")
        self.call("PATCH", f"/products/{self.product1}", body={"version": 2, "name": "Big mug", "description": "Bigger",
                                                              "price": "13.00", "stock_quantity": 20}, expect=200)
        self.call("PATCH", f"/products/{self.product1}", body={"version": 1, "name": "Stale"}, expect=409,
                  code="version_conflict", note="stale version")
        self.call("PATCH", f"/products/{self.product1}", body={"version": 3, "price": "-2"}, expect=422,
                  code="invalid_input", note="negative price")
        self.call("PATCH", f"/products/{self.product1}", body={"version": 3, "stock_quantity": -2}, expect=422,
                  code="invalid_input", note="negative stock")
        self.call("PATCH", "/products/9223372036854775807", body={"version": 1}, expect=404, code="not_found")
        self.bad_body_cases("PATCH", f"/products/{self.product1}", {"version": 3}, "update product")
        self.bad_ids("PATCH", "/products/{}", body={"version": 1})

        path = f"/products/{self.product1}/stock-adjustments"
        up = self.call("POST", path, body={"delta": 5}, expect=200, note="+5")
        down = self.call("POST", path, body={"delta": -3}, expect=200, note="-3")
        self.check("stock adjustments add up and increment the version",
                   up.get("stock_quantity") == 25 and down.get("stock_quantity") == 22
                   and down.get("version") == up.get("version", 0) + 1)
        self.call("POST", path, body={"delta": 0}, expect=422, code="invalid_input", note="delta 0")
        self.call("POST", path, body={"delta": -1000}, expect=422, code="invalid_input", note="below zero")
        self.call("POST", path, body={"delta": 2**31}, expect=422, code="invalid_input", note="delta beyond int32")
        self.call("POST", path, body={"delta": 2**31 - 1}, expect=422, code="invalid_input", note="stock beyond int32")
        self.call("POST", path, body={"delta": "5"}, expect=400, code="invalid_body", note="delta as a string")
        self.call("POST", "/products/9223372036854775807/stock-adjustments", body={"delta": 1}, expect=404,
                  code="not_found")
        self.bad_body_cases("POST", path, {"delta": 1}, "adjust stock")
        self.bad_ids("POST", "/products/{}/stock-adjustments", body={"delta": 1})

    def stock(self, product_id):
        return self.client.request("GET", f"/products/{product_id}").get("stock_quantity")

    def orders(self):
        p1, p2 = self.product1, self.product2
        before = (self.stock(p1), self.stock(p2))
        placed = self.call("POST", "/orders", body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 2}, {"product_id": p2, "quantity": 1}]}, expect=201)
        order1 = placed.get("id")
        items = placed.get("items") or []
        self.check("POST /orders: Location, pending, version 1, priced from the database",
                   placed.headers.get("location") == f"/orders/{order1}" and placed.get("status") == "pending"
                   and placed.get("version") == 1 and "idempotent-replayed" not in placed.headers
                   and [i.get("product_id") for i in items] == sorted([p1, p2])
                   and placed.get("total_amount") == "55.90", f"{placed.headers.get('location')} {placed.json}")
        self.check("placing took the stock", (self.stock(p1), self.stock(p2)) == (before[0] - 2, before[1] - 1))

        key = self.unique("checkout")
        first = self.call("POST", "/orders", headers={"Idempotency-Key": key}, body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 1}, {"product_id": p2, "quantity": 1}]}, expect=201, note="with a key")
        stock_after_first = (self.stock(p1), self.stock(p2))
        again = self.call("POST", "/orders", headers={"Idempotency-Key": key}, body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 1}, {"product_id": p2, "quantity": 1}]}, expect=201, note="same key, same body")
        split = self.call("POST", "/orders", headers={"Idempotency-Key": key}, body={"user_id": self.user1, "items": [
            {"product_id": p2, "quantity": 1}, {"product_id": p1, "quantity": 1}]}, expect=201,
            note="same key, lines reordered")
        self.check("replays return the original order, marked Idempotent-Replayed, and take no stock",
                   first.get("id") is not None and again.get("id") == first.get("id") == split.get("id")
                   and again.headers.get("idempotent-replayed") == "true"
                   and "idempotent-replayed" not in first.headers
                   and (self.stock(p1), self.stock(p2)) == stock_after_first)
        self.call("POST", "/orders", headers={"Idempotency-Key": key}, body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 3}]}, expect=422, code="idempotency_key_reused", note="same key, other body")
        self.call("POST", "/orders", headers={"Idempotency-Key": ""}, body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 1}]}, expect=422, code="invalid_input", note="empty key")
        self.call("POST", "/orders", headers={"Idempotency-Key": "k" * 256}, body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 1}]}, expect=422, code="invalid_input", note="key of 256 characters")

        merged = self.call("POST", "/orders", body={"user_id": self.user2, "items": [
            {"product_id": p1, "quantity": 1}, {"product_id": p1, "quantity": 2}]}, expect=201, note="lines to merge")
        self.check("lines of the same product are merged",
                   [(i.get("product_id"), i.get("quantity")) for i in merged.get("items") or []] == [(p1, 3)])
        self.order_user2 = merged.get("id")

        short = self.call("POST", "/orders", body={"user_id": self.user1, "items": [
            {"product_id": self.product_empty, "quantity": 1}, {"product_id": p2, "quantity": 1}]},
            expect=409, code="insufficient_stock")
        self.check("insufficient_stock names the product, requested and available",
                   short.get("details") == {"products": [{"product_id": self.product_empty, "requested": 1,
                                                          "available": 0}]}, str(short.get("details")))
        self.call("POST", "/orders", body={"user_id": 9223372036854775807, "items": [{"product_id": p1, "quantity": 1}]},
                  expect=404, code="not_found", note="unknown user")
        self.call("POST", "/orders", body={"user_id": self.user1, "items": [
            {"product_id": p1, "quantity": 1}, {"product_id": 9223372036854775807, "quantity": 1}]},
            expect=404, code="not_found", note="one unknown product")
        for key in (None, self.unique("unknown")):
            self.call("POST", "/orders", headers={"Idempotency-Key": key} if key else None, body={
                "user_id": self.user1, "items": [{"product_id": 9223372036854775806, "quantity": 1}]},
                expect=404, code="not_found", note="only unknown products" + (", with a key" if key else ""))
        for items, note in (([], "no items"), ([{"product_id": p1, "quantity": 0}], "quantity 0"),
                            ([{"product_id": p1, "quantity": 10001}], "quantity 10001"),
                            ([{"product_id": p1, "quantity": 6000}, {"product_id": p1, "quantity": 5000}],
                             "10001 after merging"),
                            ([{"product_id": 0, "quantity": 1}], "product_id 0"),
                            ([{"product_id": p1, "quantity": 1}] * 101, "101 lines")):
            self.call("POST", "/orders", body={"user_id": self.user1, "items": items}, expect=422, code="invalid_input",
                      note=note)
        self.call("POST", "/orders", body={"user_id": self.user1, "items": [{"product_id": self.product_dear,
                                                                            "quantity": 2}]},
                  expect=422, code="invalid_input", note="total of 100000000 or more")
        self.call("POST", "/orders", body={"user_id": self.user1, "items": [{"product_id": p1, "quantity": "2"}]},
                  expect=400, code="invalid_body", note="quantity as a string")
        self.call("POST", "/orders", body={"user_id": self.user1, "items": {"product_id": p1}}, expect=400,
                  code="invalid_body", note="items not an array")
        # A customer token may omit user_id, so with the admin token its absence is a 422, not a 400.
        self.call("POST", "/orders", body={"items": [{"product_id": p1, "quantity": 1}]}, expect=422,
                  code="invalid_input", note="admin token without user_id")
        self.bad_body_cases("POST", "/orders", {"items": [{"product_id": p1, "quantity": 1}], "user_id": self.user1},
                            "place order")

        got = self.call("GET", f"/orders/{order1}", expect=200)
        self.check("GET /orders/{id} is the placed order", got.json == placed.json)
        self.call("GET", "/orders/9223372036854775807", expect=404, code="not_found")
        self.bad_ids("GET", "/orders/{}")

        confirmed = self.call("PATCH", f"/orders/{order1}", body={"status": "confirmed", "version": 1}, expect=200)
        self.check("PATCH /orders moves the status and increments the version",
                   confirmed.get("status") == "confirmed" and confirmed.get("version") == 2 and confirmed.get("items"))
        self.call("PATCH", f"/orders/{order1}", body={"status": "shipped", "version": 1}, expect=409,
                  code="version_conflict", note="stale version")
        illegal = self.call("PATCH", f"/orders/{order1}", body={"status": "delivered", "version": 2}, expect=409,
                            code="illegal_transition", note="confirmed to delivered")
        self.check("illegal_transition names both statuses",
                   illegal.get("details") == {"from": "confirmed", "to": "delivered"}, str(illegal.get("details")))
        self.call("PATCH", f"/orders/{order1}", body={"status": "shipped", "version": 2}, expect=200)
        self.call("PATCH", f"/orders/{order1}", body={"status": "delivered", "version": 3}, expect=200)
        self.call("PATCH", f"/orders/{order1}", body={"status": "cancelled", "version": 4}, expect=409,
                  code="illegal_transition", note="delivered to cancelled")
        self.call("PATCH", f"/orders/{order1}", body={"status": "lost", "version": 4}, expect=422,
                  code="invalid_input", note="unknown status")
        stock_before_cancel = self.stock(p1)
        self.call("PATCH", f"/orders/{self.order_user2}", body={"status": "cancelled", "version": 1}, expect=200,
                  note="cancel")
        self.check("cancelling returns the stock", self.stock(p1) == stock_before_cancel + 3)
        self.call("PATCH", f"/orders/{self.order_user2}", body={"status": "cancelled", "version": 2}, expect=409,
                  code="illegal_transition", note="cancel twice")
        self.call("PATCH", "/orders/9223372036854775807", body={"status": "confirmed", "version": 1}, expect=404,
                  code="not_found")
        self.bad_body_cases("PATCH", f"/orders/{order1}", {"status": "confirmed", "version": 1}, "update order")
        self.bad_ids("PATCH", "/orders/{}", body={"status": "confirmed", "version": 1})

        # Cursor pages: three more orders for user 3, walked one at a time.
        placed_ids = []
        for _ in range(3):
            placed_ids.append(self.call("POST", "/orders", body={"user_id": self.user3, "items": [
                {"product_id": p1, "quantity": 1}]}, expect=201, note="for the cursor walk").get("id"))
        walked, cursor, pages = [], None, 0
        while pages < 10:
            query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
            page = self.call("GET", f"/users/{self.user3}/orders?{query}", expect=200, note=f"page {pages + 1}")
            pages += 1
            walked += [o.get("id") for o in page.get("items", [])]
            cursor = page.get("next_cursor")
            if not page.get("has_more"):
                break
        self.check("walking the cursor pages yields every order once, newest first",
                   walked == list(reversed(placed_ids)), f"{walked} vs {list(reversed(placed_ids))}")
        whole = self.call("GET", f"/users/{self.user3}/orders", expect=200, note="default limit")
        self.check("one page holds them all, without more", whole.get("has_more") is False
                   and whole.get("next_cursor") is None and len(whole.get("items", [])) == 3)
        self.call("GET", f"/users/{self.user3}/orders?limit=0", expect=200, note="limit 0 is clamped")
        self.call("GET", f"/users/{self.user3}/orders?limit=1000", expect=200, note="limit 1000 is clamped")
        first_page = self.client.request("GET", f"/users/{self.user3}/orders?limit=1").get("next_cursor")
        self.call("GET", f"/users/{self.user1}/orders?cursor={first_page}", expect=400, code="invalid_cursor",
                  note="another user's cursor")
        tampered = (first_page[:-1] + ("A" if first_page[-1] != "A" else "B")) if first_page else "x"
        for bad, note in ((tampered, "edited cursor"), ("not-a-cursor", "garbage"), ("%21%21", "punctuation"),
                          ("A" * 65, "too long")):
            self.call("GET", f"/users/{self.user3}/orders?cursor={bad}", expect=400, code="invalid_cursor", note=note)
        self.call("GET", f"/users/{self.user3}/orders?limit=ten", expect=400, code="invalid_parameter")
        self.call("GET", "/users/9223372036854775807/orders", expect=404, code="not_found")
        self.bad_ids("GET", "/users/{}/orders")
        self.call("GET", f"/users/{self.user2}/orders", expect=200, note="a cancelled order is listed")

        # Orders change stock, so they move the product's version: a PATCH from an older read is stale.
        product = self.call("POST", "/products", body={"sku": self.unique("LOST"), "name": "P", "price": "1.00",
                                                       "stock_quantity": 10}, expect=201, note="for a lost update")
        pid = product.get("id")
        taken = self.call("POST", "/orders", body={"user_id": self.user2, "items": [{"product_id": pid, "quantity": 4}]},
                          expect=201, note="takes 4 of 10")
        self.call("PATCH", f"/products/{pid}", body={"version": 1, "stock_quantity": 10}, expect=409,
                  code="version_conflict", note="stock written from a read taken before the order")
        self.call("PATCH", f"/orders/{taken.get('id')}", body={"status": "cancelled", "version": 1}, expect=200,
                  note="cancel, returning the 4")
        after = self.client.request("GET", f"/products/{pid}")
        self.check("placing and cancelling each increment the product's version",
                   after.get("version") == 3 and after.get("stock_quantity") == 10, str(after.json))

    def organizations(self):
        slug = "org-" + self.run_id
        org = self.call("POST", "/organizations", body={"slug": slug, "name": "Acme"}, expect=201)
        self.org = org.get("id")
        self.check("POST /organizations echoes it", org.get("slug") == slug and org.get("version") == 1)
        self.org2 = self.call("POST", "/organizations", body={"slug": slug + "-2", "name": "Acme 2"}, expect=201).get("id")
        self.call("POST", "/organizations", body={"slug": slug, "name": "Again"}, expect=409, code="duplicate",
                  note="slug taken")
        for bad in ("Acme", "acme--corp", "-acme", "acme-", "ac me", "acmé", "a" * 101, ""):
            self.call("POST", "/organizations", body={"slug": bad, "name": "Bad"}, expect=422, code="invalid_input",
                      note=f"slug {bad[:20]!r}")
        self.call("POST", "/organizations", body={"slug": slug + "-3", "name": " "}, expect=422, code="invalid_input",
                  note="blank name")
        self.bad_body_cases("POST", "/organizations", {"slug": slug + "-b", "name": "B"}, "create organization")

        members = f"/organizations/{self.org}/members"
        member = self.call("POST", members, body={"user_id": self.user1}, expect=201, note="default role")
        self.check("the default role is member", member.get("role") == "member"
                   and member.get("organization_id") == self.org and member.get("user_id") == self.user1)
        admin = self.call("POST", members, body={"user_id": self.user2, "role": "admin"}, expect=201, note="admin")
        self.check("the role is as given", admin.get("role") == "admin")
        self.call("POST", f"/organizations/{self.org2}/members", body={"user_id": self.user1, "role": None}, expect=201,
                  note="null role")
        self.call("POST", members, body={"user_id": self.user1, "role": "owner"}, expect=409, code="duplicate",
                  note="already a member")
        self.call("POST", members, body={"user_id": self.user3, "role": "boss"}, expect=422, code="invalid_input",
                  note="unknown role")
        self.call("POST", members, body={"user_id": 9223372036854775807}, expect=404, code="not_found",
                  note="unknown user")
        self.call("POST", "/organizations/9223372036854775807/members", body={"user_id": self.user1}, expect=404,
                  code="not_found", note="unknown organization")
        self.bad_body_cases("POST", members, {"user_id": self.user3}, "add member")
        self.bad_ids("POST", "/organizations/{}/members", body={"user_id": self.user1})

        active = f"/users/{self.user1}/active-organization"
        self.call("GET", active, expect=404, code="not_found", note="none set")
        chosen = self.call("PUT", active, body={"organization_id": self.org}, expect=200)
        self.check("PUT active-organization answers the organization and role",
                   chosen.json == {"organization_id": self.org, "slug": slug, "name": "Acme", "role": "member"},
                   str(chosen.json))
        self.call("GET", active, expect=200)
        user = self.client.request("GET", f"/users/{self.user1}")
        self.check("the user's active_org_id is set", user.get("active_org_id") == self.org)
        self.call("PUT", f"/users/{self.user3}/active-organization", body={"organization_id": self.org}, expect=403,
                  code="not_a_member")
        self.call("PUT", active, body={"organization_id": 9223372036854775807}, expect=404, code="not_found",
                  note="unknown organization")
        self.call("PUT", "/users/9223372036854775807/active-organization", body={"organization_id": self.org},
                  expect=404, code="not_found", note="unknown user")
        self.call("GET", "/users/9223372036854775807/active-organization", expect=404, code="not_found",
                  note="unknown user")
        self.bad_body_cases("PUT", active, {"organization_id": self.org}, "set active organization")
        self.bad_ids("PUT", "/users/{}/active-organization", body={"organization_id": self.org})
        self.bad_ids("GET", "/users/{}/active-organization")

        attributed = []
        for _ in range(2):
            attributed.append(self.call("POST", "/orders", body={"user_id": self.user1, "items": [
                {"product_id": self.product2, "quantity": 1}]}, expect=201, note="attributed to the organization"))
        self.check("orders of a user with an active organization are attributed to it",
                   all(o.get("organization_id") == self.org for o in attributed))
        orders = f"/organizations/{self.org}/orders"
        page = self.call("GET", f"{orders}?limit=1", expect=200)
        self.check("the organization's first page is its newest order, with more to come",
                   [o.get("id") for o in page.get("items", [])] == [attributed[-1].get("id")] and page.get("has_more"))
        rest = self.call("GET", f"{orders}?limit=100&cursor={page.get('next_cursor')}", expect=200, note="next page")
        self.check("the next page holds the rest",
                   [o.get("id") for o in rest.get("items", [])] == [attributed[0].get("id")]
                   and rest.get("has_more") is False)
        self.call("GET", f"/organizations/{self.org2}/orders", expect=200, note="no orders")
        self.call("GET", f"{orders}?cursor=nope", expect=400, code="invalid_cursor")
        self.call("GET", f"/organizations/{self.org2}/orders?cursor={page.get('next_cursor')}", expect=400,
                  code="invalid_cursor", note="another organization's cursor")
        self.call("GET", f"{orders}?limit=many", expect=400, code="invalid_parameter")
        self.call("GET", "/organizations/9223372036854775807/orders", expect=404, code="not_found")
        self.bad_ids("GET", "/organizations/{}/orders")

        self.call("DELETE", f"/organizations/{self.org}/members/{self.user1}", expect=204)
        self.call("GET", active, expect=404, code="not_found", note="cleared with the membership")
        user = self.client.request("GET", f"/users/{self.user1}")
        self.check("removing the membership cleared active_org_id", user.get("active_org_id") is None)
        self.call("DELETE", f"/organizations/{self.org}/members/{self.user1}", expect=404, code="not_found",
                  note="twice")
        self.call("DELETE", f"/organizations/9223372036854775807/members/{self.user2}", expect=404, code="not_found",
                  note="unknown organization")
        self.bad_ids("DELETE", "/organizations/{}/members/" + str(self.user2))
        self.bad_ids("DELETE", f"/organizations/{self.org}/members/{{}}")

    def tokens(self):
        """Authentication: customer tokens issued and revoked by an admin, and the 401, 403 and 429."""
        anonymous = {"Authorization": None}
        self.call("GET", "/users", headers=anonymous, expect=401, code="unauthorized", note="no token")
        self.call("GET", "/users", headers={"Authorization": "Bearer sqls_" + "A" * 43}, expect=401,
                  code="unauthorized", note="unknown token")
        self.call("GET", "/users", headers={"Authorization": "Basic YTpi"}, expect=401, code="unauthorized",
                  note="not a bearer token")
        email = self.unique("cust") + "@example.com"
        user = self.call("POST", "/users", body={"email": email, "name": "Customer"}, expect=201).get("id")
        issued = self.call("POST", f"/users/{user}/tokens", body={"name": "web", "expires_in": 3600}, expect=201)
        secret = issued.get("token") or ""
        self.check("POST /users/{id}/tokens issues a customer token for that user",
                   issued.get("role") == "customer" and issued.get("user_id") == user and secret.startswith("sqls_"))
        as_customer = {"Authorization": f"Bearer {secret}"}
        self.call("GET", f"/users/{user}", headers=as_customer, expect=200, note="customer token, own user")
        self.call("GET", "/users", headers=as_customer, expect=403, code="forbidden", note="customer token")
        self.call("POST", f"/users/{user}/tokens", headers=as_customer, body={"name": "x"}, expect=403,
                  code="forbidden", note="customer token")
        self.call("DELETE", f"/tokens/{issued.get('id')}", headers=as_customer, expect=403, code="forbidden",
                  note="customer token")
        self.call("POST", "/users/999999999/tokens", body={"name": "web"}, expect=404, code="not_found",
                  note="unknown user")
        self.call("POST", f"/users/{user}/tokens", body={"name": "   "}, expect=422, code="invalid_input",
                  note="blank name")
        self.call("POST", f"/users/{user}/tokens", body={"name": "w", "expires_in": 0}, expect=422,
                  code="invalid_input", note="expires_in 0")
        self.bad_body_cases("POST", f"/users/{user}/tokens", {"name": "web"}, "create token")
        self.bad_ids("POST", "/users/{}/tokens", body={"name": "web"})
        self.call("DELETE", f"/tokens/{issued.get('id')}", expect=204)
        self.call("DELETE", f"/tokens/{issued.get('id')}", expect=204, note="again")
        self.call("DELETE", "/tokens/999999999", expect=404, code="not_found", note="unknown token")
        self.bad_ids("DELETE", "/tokens/{}")

    def known_bugs(self):
        """Probes of server bugs found while writing the document, now fixed: kept as regressions."""
        self.call("POST", "/products", body={"sku": self.unique("NUL"), "name": "P", "price": "1.00",
                                             "description": "a\u0000b"}, expect=422, code="invalid_input",
                  note="NUL in description")
        self.call("POST", "/products", body={"sku": self.unique("U"), "name": "P", "price": "1\u0661\u0662"}, expect=400,
                  code="invalid_body", note="price with non-ASCII digits")
        long_name = "e\u0301" * 200  # 200 characters as Swift counts them, 400 code points as PostgreSQL does
        response = self.call("POST", "/users", body={"email": self.unique("long") + "@example.com", "name": long_name},
                             expect=422, code="invalid_input", note="name of 200 graphemes, 400 code points")
        self.check("a name too long for its column is reported as field name",
                   (response.get("details") or {}).get("field") == "name", str(response.get("details")))
        # The document's maxLength counts the value as sent; the server once trimmed first and
        # accepted 255 characters after leading whitespace (schemathesis ST201, issue 15).
        padded = "\u0085" * 5 + "x" * 255
        self.call("POST", "/products", body={"sku": self.unique("PAD"), "name": padded, "price": "1.00"}, expect=422,
                  code="invalid_input", note="name of 255 characters after 5 of leading whitespace")
        local = self.unique("p")
        email = local + "@example." + "c" * (255 - len(local) - len("@example."))  # 255 characters
        self.call("POST", "/users", body={"email": "  " + email, "name": "P"},
                  expect=422, code="invalid_input", note="email over 255 characters only with its leading spaces")
        self.call("POST", "/users", body={"email": " " + self.unique("q") + "@example.com ", "name": " " + "n" * 253 + " "},
                  expect=201, note="a name of 255 characters, its 2 surrounding spaces included")

    def coverage(self):
        unexercised_operations, unexercised_statuses = [], []
        for method, template, _, _ in self.spec.routes:
            operation = self.spec.doc["paths"][template][method]
            statuses = [s for s in operation.get("responses", {}) if (method, template, s) not in self.exercised]
            if len(statuses) == len(operation.get("responses", {})):
                unexercised_operations.append(f"{method.upper()} {template}")
            elif statuses:
                unexercised_statuses.append(f"{method.upper()} {template}: {', '.join(statuses)}")
        self.check("every documented operation was exercised", not unexercised_operations,
                   ", ".join(unexercised_operations))
        if unexercised_statuses and not self.quiet:
            print("INFO  documented responses the tour cannot trigger deterministically:")
            for line in unexercised_statuses:
                print("INFO    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="base URL of a running sqlstore server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--spec", default=DEFAULT_SPEC, help="the OpenAPI document (default: the one in Sources)")
    parser.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    parser.add_argument("--token", default=os.environ.get("SQLSTORE_TOKEN"),
                        help="an admin token, sent on every request (default: $SQLSTORE_TOKEN)")
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as file:
        spec = Spec(yaml.safe_load(file))
    client = Client(args.base_url, args.token)
    try:
        client.request("GET", "/health/live")
    except OSError as error:
        print(f"cannot reach {args.base_url}: {error}", file=sys.stderr)
        return 2

    tour = Tour(spec, client, args.quiet)
    if not args.quiet:
        print(f"# document {os.path.relpath(args.spec)}")
    for label, ok, detail in lint_document(spec):
        tour.check(f"document: {label}", ok, detail)
    tour.run()

    c = tour.counts
    print()
    print(f"{sum(c.values())} checks: {c['PASS']} passed, {c['FAIL']} failed, "
          f"{c['XFAIL']} known server bugs (xfail), {c['XPASS']} fixed known bugs (xpass)")
    if tour.xfails:
        print("known server bugs:")
        for line in tour.xfails:
            print("  " + line)
    if tour.failures:
        print("failures:")
        for line in tour.failures:
            print("  " + line)
    return 1 if c["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
