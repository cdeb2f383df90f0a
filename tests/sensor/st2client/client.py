"""A stand-in for st2client.client.Client (StackStorm 3.9), only the part a
sensor's datastore service relies on: which credential the client holds,
and client.keys (st2client/models/keyvalue.py, managers ResourceManager
get_all and delete) as plain HTTP to the API, so a sensor's list_values and
delete_value reach the fake st2 (tests/fakes/fake_st2) as they reach st2."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request


class KeyValuePair(object):
    def __init__(self, doc):
        self.name = doc.get("name")
        self.value = doc.get("value")
        self.scope = doc.get("scope")


class KeyManager(object):
    def __init__(self, client):
        self._client = client

    def _request(self, method, path):
        base = self._client.endpoints["api"]
        if not base:
            # requests' ConnectionError, as far as a caller can tell
            raise ConnectionError("no API URL")
        req = urllib.request.Request(base + path, method=method,
                                     headers={"X-Auth-Token": self._client.token or ""})
        with urllib.request.urlopen(req, timeout=10) as resp:
            data = resp.read()
        return json.loads(data) if data else None

    def get_all(self, prefix=None, limit=None, offset=0, **kwargs):
        query = {"offset": offset or 0}
        if prefix:
            query["prefix"] = prefix
        if limit:
            query["limit"] = limit
        docs = self._request("GET", "/keys?" + urllib.parse.urlencode(query))
        return [KeyValuePair(d) for d in docs or []]

    def delete(self, instance, params=None):
        # st2client raises on an error status (requests' raise_for_status).
        self._request("DELETE", "/keys/" + urllib.parse.quote(instance.name, safe=""))
        return True


class Client(object):
    def __init__(self, api_url=None, token=None, api_key=None):
        self.endpoints = {"api": api_url or os.environ.get("ST2_API_URL")}
        # st2client/client.py Client.__init__ also writes the token (and the
        # API key) into the process environment ("a nasty hack", says st2).
        # Imitated because it is visible to a sensor: once its datastore
        # service renews, os.environ["ST2_AUTH_TOKEN"] is the new token, and
        # the token st2 put there at start is gone.
        if token:
            os.environ["ST2_AUTH_TOKEN"] = token
        self.token = token
        if api_key:
            os.environ["ST2_API_KEY"] = api_key
        self.api_key = api_key
        self.keys = KeyManager(self)
