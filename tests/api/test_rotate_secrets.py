"""`portico rotate-secrets` moves every stored secret to the first key, in a real process."""

import asyncio
import json
import os
import subprocess

from sqlalchemy import insert, text

from app.crypto import SecretBox, new_key
from app.db.engine import create_engine
from app.db.models import GesdentConnection, IdempotencyKey, Instance, Partner, utcnow
from tests.conftest import fresh_database
from tests.processes import portico_command


async def test_rotation_in_a_separate_database(backend):
    async with fresh_database(backend) as url:
        old, new = new_key(), new_key()
        env = {**os.environ, "PORTICO_DATABASE_URL": url, "PORTICO_MASTER_KEY": "m" * 32}
        run = lambda *args, keys: subprocess.run(  # noqa: E731
            portico_command(*args),
            env={**env, "PORTICO_SECRET_KEYS": keys},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,  # the test reads the exit status itself
        )
        assert run("migrate", keys=old).returncode == 0
        engine = create_engine(url, null_pool=True)
        try:
            box = SecretBox([old])
            passwords = {
                f"{f}_password": box.encrypt(f"pw-{f}") for f in ("users", "reservations", "availability")
            }
            async with engine.begin() as connection:
                await connection.execute(insert(Partner).values(id="p", name="p"))
                await connection.execute(
                    insert(Instance).values(id="i", partner_id="p", name="tt_rot", display_name="x")
                )
                await connection.execute(
                    insert(GesdentConnection).values(
                        instance_id="i",
                        base_url="http://x/",
                        resource_ids="A-B",
                        users_username="u",
                        reservations_username="r",
                        availability_username="a",
                        webhook_secret=box.encrypt("whsec_x"),
                        **passwords,
                    )
                )
                await connection.execute(  # an answer kept for an Idempotency-Key (app/idempotency.py)
                    insert(IdempotencyKey).values(
                        owner="p",
                        key="k",
                        partner_id="p",
                        fingerprint="0" * 64,
                        method="POST",
                        path="/v1/webhook-endpoints",
                        state="done",
                        claim="c",
                        claimed_at=utcnow(),
                        expires_at=utcnow(),
                        status=201,
                        headers="[]",
                        body=box.encrypt_bytes(b'{"secret": "whsec_y"}'),
                    )
                )
            result = await asyncio.to_thread(run, "rotate-secrets", keys=f"{new},{old}")
            assert result.returncode == 0, result.stderr
            assert "re-encrypted 4 secret(s)" in result.stdout
            async with engine.connect() as connection:
                row = (await connection.execute(text("SELECT * FROM gesdent_connections"))).mappings().one()
            only_new = SecretBox([new])
            assert only_new.decrypt(row["users_password"]) == "pw-users"
            assert only_new.decrypt(row["webhook_secret"]) == "whsec_x"
            # The audit trail: one change of the rules, by the operator through the command, redacted.
            async with engine.connect() as connection:
                audit = (await connection.execute(text("SELECT * FROM audit_events"))).mappings().all()
            assert [(a["target_kind"], a["target_name"], a["action"]) for a in audit] == [
                ("gesdent", "tt_rot", "update")
            ]
            assert (audit[0]["actor_type"], audit[0]["actor_via"], audit[0]["operation"]) == (
                "operator",
                "cli",
                "cli.rotate-secrets",
            )
            assert json.loads(audit[0]["changes"])["users_password"] == {
                "before": "[redacted]",
                "after": "[redacted]",
            }
            stored = json.dumps(dict(audit[0]), default=str)
            for secret in ("pw-users", "whsec_x", row["users_password"], passwords["users_password"]):
                assert secret not in stored
            async with engine.connect() as connection:
                kept = (await connection.execute(text("SELECT body FROM idempotency_keys"))).scalar_one()
            assert only_new.decrypt_bytes(kept) == b'{"secret": "whsec_y"}'
        finally:
            await engine.dispose()
