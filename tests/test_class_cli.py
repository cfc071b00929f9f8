"""`cnnlab dashboard --class CONFIG` refuses a config it cannot use before starting anything: one line,
exit status 2."""

import socket

import pytest

from cnnlab.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("text", "extra", "message"), [
    (None, [], "cannot read the class config {path}: No such file or directory"),
    ("teachers = [\"prof\"]\nquota = 3\n", [],
     "class config {path}: unknown key 'quota' in the file (known: identity, limits, quotas, students_see, "
     "teachers, visitor_pages)"),
    ("[quotas]\nepochs = -1\n", [],
     "class config {path}: quotas.epochs must be a whole number of at least 0"),
    ("[identity]\nproxy_header = \"X-Forwarded-User\"\n", [],
     "class config {path}: identity.proxy_header needs identity.proxy_secret, at least 16 characters, which "
     "the proxy sends in X-Cnnlab-Proxy"),
    ("[identity]\nproxy_header = \"X-Forwarded-User\"\nproxy_secret = \"0123456789abcdef\"\n",
     ["--address", "0.0.0.0"],
     "class mode trusts the X-Forwarded-User header only on loopback: listen on 127.0.0.1 behind the proxy, "
     "not 0.0.0.0"),
    ("students_see = \"friends\"\n", [], "class config {path}: students_see must be one of all, own"),
])
def test_a_class_config_that_cannot_be_used_is_one_line(tmp_path, capsys, text, extra, message):
    path = tmp_path / "class.toml"
    if text is not None:
        path.write_text(text)
    status = main(["dashboard", "--class", str(path), "--port", str(free_port()), *extra])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == f"cnnlab: error: {message.format(path=path)}\n"
