import pytest

from app.crypto import SecretBox, new_key


def test_first_key_encrypts_all_decrypt_and_rotation_moves_to_the_first():
    old, new = new_key(), new_key()
    token = SecretBox([old]).encrypt("wOPnLZytlYwv1pZA6Wse")
    assert "wOPnLZytlYwv1pZA6Wse" not in token
    both = SecretBox([new, old])
    assert both.decrypt(token) == "wOPnLZytlYwv1pZA6Wse"
    rotated = both.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "wOPnLZytlYwv1pZA6Wse"
    with pytest.raises(ValueError, match="PORTICO_SECRET_KEYS"):
        SecretBox([new]).decrypt(token)


def test_tampering_is_detected():
    box = SecretBox([new_key()])
    token = box.encrypt("secret")
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(ValueError, match="cannot be decrypted"):
        box.decrypt(tampered)
