"""A stand-in for st2common.services.access.create_token (StackStorm 3.9).

st2 writes a TokenDB document straight into MongoDB, which st2api reads to
authenticate requests. Here the shared store is the fake st2 API's token
table (tests/fakes/fake_st2.h): set TOKEN_DB_URL to the fake's base URL
(".../v1", started with --control) and every token made here is one the fake
accepts, for ttl seconds of its clock. Without it the token is made up and
no server knows it, which is harmless for tests that use the embedded
datastore."""
import datetime
import json
import urllib.request
import uuid

TOKEN_DB_URL = None


class TokenDB(object):
    def __init__(self, user, token, expiry, metadata=None, service=False):
        self.user = user
        self.token = token
        self.expiry = expiry
        self.metadata = metadata or {}
        self.service = service


def _now():
    # st2common/util/date.py get_datetime_utc_now: aware, in UTC.
    return datetime.datetime.now(datetime.timezone.utc)


def create_token(username, ttl=None, metadata=None, add_missing_user=True, service=False):
    """st2: token = uuid4().hex, expiry = now + ttl, saved to the TokenDB;
    service tokens may have any ttl."""
    if TOKEN_DB_URL:
        req = urllib.request.Request(
            TOKEN_DB_URL + "/_fake/tokens", method="POST",
            data=json.dumps({"ttl": int(ttl or 0)}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            token = json.load(resp)["token"]
    else:
        token = uuid.uuid4().hex
    expiry = _now() + datetime.timedelta(seconds=ttl or 0)
    return TokenDB(user=username, token=token, expiry=expiry, metadata=metadata,
                   service=service)
