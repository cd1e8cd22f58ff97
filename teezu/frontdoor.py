"""The nginx front door's configuration, generated from the cluster's topology (docs/cluster.md).

One nginx (Debian's package, run unprivileged with everything under one directory) in front of
every role:

- ``/whip/{stream}``, ``/whep/{stream}`` and ``/hls/{stream}/…`` go to the ingest node that holds
  the stream. nginx asks an API node first (``auth_request`` to ``/internal/placement``,
  ``api/placement_routes.py``), then proxies the original request (method and body intact) to
  the upstream named by the answer. A WHIP offer for a stream no node holds is placed there on
  the least-loaded healthy ingest node. The answers for ``/hls/`` are cached for a second per
  stream, so a viewer's playlist or part costs no placement request.
- ``/hls/`` responses are cached (``proxy_cache``) with ``proxy_cache_lock``: concurrent identical
  requests (the same part, the same blocking playlist ``_HLS_msn``/``_HLS_part``) reach the origin
  once; blocking playlist requests are cached for a few seconds although live playlists say
  ``no-cache`` (each names one playlist update). The key is the whole request URI, playback
  token included: a viewer's token is never answered from another viewer's cached object.
- ``/socket.io/`` goes to the API nodes with ``ip_hash`` (long-polling needs every request of a
  session on one node); everything else is balanced ``least_conn`` over the API nodes.
- ``/internal/`` is refused from outside.
- TLS 1.3 (when a certificate is given) with HTTP/2, which LL-HLS players need.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

_UUID = "[0-9a-fA-F-]{36}"


@dataclass(frozen=True)
class Upstream:
    name: str  # the node's id (TEEZU_NODE_ID): what placement answers
    address: str  # host:port


@dataclass(frozen=True)
class FrontDoor:
    """What the generated configuration needs to know of the topology."""

    directory: Path  # pid, logs, temp files and the cache live here
    http_port: int
    api: list[Upstream]
    ingest: list[Upstream]
    unavailable_port: int  # a local server that answers 503 (no healthy ingest node)
    https_port: int | None = None
    certificate: Path | None = None
    key: Path | None = None
    host: str = "127.0.0.1"
    cache_size: str = "1g"
    extra_http: list[str] = field(default_factory=list)
    user: str | None = None  # nginx's `user` (workers' account when the master runs as root)


def local_user() -> str | None:
    """Run as root here: the workers stay root too (they write the cache in our directory)."""
    return getpass.getuser() if os.geteuid() == 0 else None


def upstream_name(node: str) -> str:
    return "ingest_" + re.sub(r"[^A-Za-z0-9_]", "_", node)


def render(door: FrontDoor) -> str:
    d = door.directory.resolve()
    if not door.api:
        raise ValueError("the front door needs at least one API node")
    user = f"user {door.user};\n" if door.user else ""
    api_servers = "".join(
        f"    server {u.address} max_fails=1 fail_timeout=2s;\n" for u in door.api
    )
    ingest_upstreams = "".join(
        f"  upstream {upstream_name(u.name)} {{\n    server {u.address};\n    keepalive 16;\n  }}\n"
        for u in door.ingest
    )
    node_map = "".join(f"    {u.name} {upstream_name(u.name)};\n" for u in door.ingest)
    listen = f"    listen {door.host}:{door.http_port};\n"
    tls = ""
    if door.https_port and door.certificate and door.key:
        listen += f"    listen {door.host}:{door.https_port} ssl http2;\n"
        tls = (
            f"    ssl_certificate {door.certificate.resolve()};\n"
            f"    ssl_certificate_key {door.key.resolve()};\n"
            "    ssl_protocols TLSv1.3;\n"
        )  # HSTS comes from the nodes (api/security headers), once
    extra = "".join(f"  {line}\n" for line in door.extra_http)
    # The JSON error envelope, as the nodes write it.
    unavailable = (
        '{"status":"error","code":"NO_INGEST_NODE","message":"no ingest node can take the '
        'stream now; retry shortly","requestId":"$request_id"}'
    )
    proxied = (
        "      proxy_http_version 1.1;\n"
        '      proxy_set_header Connection "";\n'
        "      proxy_set_header Host $http_host;\n"
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "      proxy_set_header X-Forwarded-Proto $scheme;\n"
    )
    placed = (
        "      auth_request {check};\n"
        "      auth_request_set $teezu_node $upstream_http_x_teezu_node;\n"
        "      proxy_pass http://$teezu_upstream;\n" + proxied
    )
    placement = (
        "      internal;\n"
        "      proxy_pass http://teezu_api/internal/placement;\n"
        "      proxy_pass_request_body off;\n"
        '      proxy_set_header Content-Length "";\n'
        "      proxy_set_header X-Teezu-Stream $teezu_stream;\n"
        "      proxy_set_header X-Teezu-Publish $teezu_publish;\n"
        "      proxy_set_header X-Teezu-Method $request_method;\n"
        "      proxy_http_version 1.1;\n"
        '      proxy_set_header Connection "";\n'
    )
    hls_placed = placed.format(check="/_placement_cached")
    hls_cache = (
        "      proxy_cache teezu_hls;\n"
        "      proxy_cache_key $request_uri;\n"  # the token too: see the module doc
        "      proxy_cache_lock on;\n"
        "      proxy_cache_lock_age 10s;\n"
        "      proxy_cache_lock_timeout 10s;\n"
        "      proxy_cache_valid 404 1s;\n"
        "      add_header X-Cache $upstream_cache_status always;\n"
    )
    return f"""# Generated by teezu/frontdoor.py from the cluster topology (edit that, not this).
{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;

events {{
  worker_connections 4096;
}}

http {{
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path {d}/client_body_temp;
  proxy_temp_path {d}/proxy_temp;
  fastcgi_temp_path {d}/fastcgi_temp;
  uwsgi_temp_path {d}/uwsgi_temp;
  scgi_temp_path {d}/scgi_temp;
  proxy_cache_path {d}/cache_hls levels=1:2 keys_zone=teezu_hls:16m max_size={door.cache_size}
                   inactive=2m use_temp_path=off;
  proxy_cache_path {d}/cache_placement levels=1 keys_zone=teezu_placement:4m inactive=10s
                   use_temp_path=off;
  client_max_body_size 1m;
  proxy_read_timeout 60s;
{extra}
  map $arg__HLS_msn $teezu_blocking {{
    "" 0;
    default 1;
  }}

  map $http_upgrade $connection_upgrade {{
    default upgrade;
    "" close;
  }}

  upstream teezu_api {{
    least_conn;
{api_servers}    keepalive 32;
  }}

  upstream teezu_api_sticky {{
    ip_hash;
{api_servers}  }}

{ingest_upstreams}
  upstream teezu_unavailable {{
    server 127.0.0.1:{door.unavailable_port};
  }}

  # The placement's answer (api/placement_routes.py) names the upstream.
  map $teezu_node $teezu_upstream {{
    default teezu_api;
    origin teezu_api;
    unavailable teezu_unavailable;
{node_map}  }}

  server {{
    listen 127.0.0.1:{door.unavailable_port};
    default_type application/json;
    return 503 '{unavailable}';
  }}

  server {{
{listen}{tls}    server_name _;

    # $teezu_stream and $teezu_publish are set in the locations below and read by the
    # placement subrequest (which shares the request's variables); not set at server level,
    # where the subrequest would reset them.
    location /internal/ {{
      return 404;
    }}

    location = /_placement {{
{placement}    }}

    location = /_placement_cached {{
{placement}      proxy_cache teezu_placement;
      proxy_cache_key $teezu_stream;
      proxy_cache_valid 200 1s;
      proxy_cache_lock on;
    }}

    location ~ "^/whip/(?<whip_stream>{_UUID})$" {{
      set $teezu_stream $whip_stream;
      set $teezu_publish 1;
{placed.format(check="/_placement")}    }}

    location ~ "^/(?:whip|whep)/(?<rtc_stream>{_UUID})(?:/|$)" {{
      set $teezu_stream $rtc_stream;
      set $teezu_publish 0;
{placed.format(check="/_placement")}    }}

    location ~ "^/hls/(?<hls_stream>{_UUID})/" {{
      set $teezu_stream $hls_stream;
      set $teezu_publish 0;
      # A blocking playlist request (`_HLS_msn`) names one playlist update: cacheable for
      # everyone asking the same, although live playlists themselves say no-cache.
      if ($teezu_blocking) {{
        rewrite ^ /_blocking$uri last;
      }}
{hls_placed}{hls_cache}      proxy_cache_valid 200 2s;
    }}

    location ^~ /_blocking/hls/ {{
      internal;
      rewrite ^/_blocking(/.*)$ $1 break;
{hls_placed}{hls_cache}      proxy_ignore_headers Cache-Control Expires;
      proxy_cache_valid 200 4s;
    }}

    location /socket.io/ {{
      proxy_pass http://teezu_api_sticky;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 120s;
    }}

    location / {{
      proxy_pass http://teezu_api;
{proxied}    }}
  }}
}}
"""


def write(door: FrontDoor) -> Path:
    """Write ``nginx.conf`` and the directories it names; return the file."""
    d = door.directory
    d.mkdir(parents=True, exist_ok=True)  # nginx makes the one-level directories under it
    path = d / "nginx.conf"
    path.write_text(render(door), encoding="utf-8")
    return path


def command(conf: Path) -> list[str]:
    """The nginx command line for ``conf`` (a foreground process; the caller owns its pid)."""
    return ["/usr/sbin/nginx", "-p", str(conf.parent.resolve()), "-c", str(conf.resolve())]
