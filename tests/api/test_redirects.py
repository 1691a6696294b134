"""The service's redirects (Starlette's, from a path with a trailing slash to the route, or from a
mount to its folder) never name the `Host` the client sent: relative, or on PORTICO_PUBLIC_URL."""

from __future__ import annotations

import httpx

from app.config import Settings
from app.main import create_app
from tests.conftest import MASTER_KEY, SECRET_KEY

REDIRECTED = {  # path asked -> Location
    "/v1/instances/?limit=2": "/v1/instances?limit=2",
    "/v1/partners/": "/v1/partners",
    "/healthz/": "/healthz",
    "/docs/assets": "/docs/assets/",
}
EVIL = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


async def test_redirects_are_relative(anon):
    async with anon:
        for path, location in REDIRECTED.items():
            response = await anon.get(path, headers=EVIL)
            assert response.status_code == 307, (path, response.text)
            assert response.headers["location"] == location
            assert not [v for v in response.headers.values() if "evil.example" in v], response.headers


async def test_redirects_are_absolute_on_the_public_url(database_url):
    settings = Settings(
        database_url=database_url,
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
        public_url="https://portico.example/api",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as client:
            for path, location in REDIRECTED.items():
                response = await client.get(path)
                assert response.headers["location"] == f"https://portico.example/api{location}", path
