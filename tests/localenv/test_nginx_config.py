"""The local nginx is configured as EB's: same upload limit, /static served by nginx."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sre.localenv.nginx import Nginx, NginxError, Upstream, max_body_size, render_config
from tests.support import require
from tests.support.servers import ROOT

pytestmark = pytest.mark.nginx


def test_the_upload_limit_is_the_one_in_the_eb_nginx_config() -> None:
    eb_conf = ROOT / ".platform" / "nginx" / "conf.d"
    assert list(eb_conf.glob("*.conf")), "the EB nginx config is part of the repository"
    limit = max_body_size(ROOT)
    assert limit is not None
    assert any(f"client_max_body_size {limit};" in c.read_text() for c in eb_conf.glob("*.conf"))


def test_the_config_includes_the_bundle_nginx_additions_and_serves_static(tmp_path: Path) -> None:
    text = render_config(tmp_path, 8080, Upstream(41000, ROOT))
    assert f"include {ROOT / '.platform/nginx/conf.d/shortener.conf'};" in text
    assert f"alias {ROOT / 'static'};" in text
    assert "server 127.0.0.1:41000;" in text and "keepalive 16;" in text
    assert "listen 127.0.0.1:8080;" in text
    assert "X-Request-ID $request_id" in text and "$proxy_add_x_forwarded_for" in text


def test_without_eb_additions_nginx_keeps_its_1m_default(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    assert max_body_size(tmp_path) is None
    assert "client_max_body_size 1m;" in render_config(tmp_path, 8080, Upstream(1, tmp_path))


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    binary = require.need_program("nginx")
    nginx = Nginx(tmp_path / "nginx", 8080, binary)
    nginx.write_config(Upstream(41000, ROOT))
    result = subprocess.run(
        [binary, "-t", "-p", str(nginx.prefix), "-c", str(nginx.conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_config_nginx_rejects_is_never_installed(tmp_path: Path) -> None:
    binary = require.need_program("nginx")
    app = tmp_path / "app"
    (app / ".platform" / "nginx" / "conf.d").mkdir(parents=True)
    (app / ".platform" / "nginx" / "conf.d" / "bad.conf").write_text("no_such_directive on;\n")
    nginx = Nginx(tmp_path / "nginx", 8080, binary)
    with pytest.raises(NginxError, match="rejects"):
        nginx.write_config(Upstream(41000, app))
    assert not nginx.conf.exists()


def test_several_instances_share_the_upstream(tmp_path: Path) -> None:
    text = render_config(tmp_path, 8080, Upstream(41000, ROOT, more_ports=(41001,)))
    assert "server 127.0.0.1:41000;\n        server 127.0.0.1:41001;" in text
