import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from luoshi.core import crypto


@pytest.fixture
def key_file(tmp_path, settings):
    settings.KEY_FILE = tmp_path / "keys.json"
    crypto.reload_keys()
    yield settings.KEY_FILE
    crypto.reload_keys()


def test_sm3_matches_the_standard_test_vector():
    # GB/T 32905-2016, appendix A.1
    assert crypto.sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_of_a_file_reads_it_all_and_rewinds():
    handle = io.BytesIO(b"abc")
    handle.read(1)
    assert crypto.sm3_file(handle) == crypto.sm3(b"abc")
    assert handle.tell() == 0


def test_a_development_key_file_is_created_owner_only(key_file):
    crypto.encrypt("x")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert set(json.loads(key_file.read_text())) >= {"data_keys", "mac_keys", "index_key"}


def test_production_refuses_to_run_without_its_key_file(key_file, settings):
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        crypto.keyring()
    assert not key_file.exists()


def test_sm4_round_trip_uses_a_fresh_nonce(key_file):
    first, second = crypto.encrypt("13812345678"), crypto.encrypt("13812345678")
    assert first != second
    assert "13812345678" not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == "13812345678"


def test_an_altered_ciphertext_is_refused(key_file):
    token = crypto.encrypt("110101199001011234")
    prefix, key_id, payload = token.split(":")
    tampered = f"{prefix}:{key_id}:{payload[:-6]}AAAAAA"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered)


def test_old_keys_keep_decrypting_after_rotation(key_file):
    old = crypto.encrypt("北京市东城区")
    content = json.loads(key_file.read_text())
    content["data_keys"]["d2"] = crypto.new_key_file_content()["data_keys"]["d1"]
    content["active_data_key"] = "d2"
    crypto.write_key_file(key_file, content, exclusive=False)
    crypto.reload_keys()
    new = crypto.encrypt("北京市东城区")
    assert crypto.ciphertext_key_id(old) == "d1" and crypto.ciphertext_key_id(new) == "d2"
    assert crypto.decrypt(old) == crypto.decrypt(new) == "北京市东城区"


def test_mac_names_its_key_and_depends_on_it(key_file):
    key_id, mac = crypto.hmac_sm3(b"row")
    assert crypto.hmac_sm3(b"row", key_id=key_id) == (key_id, mac)
    assert crypto.hmac_sm3(b"row2")[1] != mac
    with pytest.raises(crypto.DecryptionError):
        crypto.hmac_sm3(b"row", key_id="missing")


def test_blind_index_ignores_spacing_only(key_file):
    assert crypto.blind_index("138 1234 5678") == crypto.blind_index("13812345678")
    assert crypto.blind_index("13812345679") != crypto.blind_index("13812345678")
