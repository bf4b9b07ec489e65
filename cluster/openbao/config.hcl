# OpenBao server for docker-compose.yml: file storage on the `openbao-data` volume.
# First start: `docker compose exec openbao bao operator init` (keep the unseal keys
# and root token out of the repo), `bao operator unseal` (x3), enable KV v2 at
# `secret/`, put SIGMAX's secrets under `secret/sigmax/...` and set SIGMAX_VAULT_TOKEN
# (or an AppRole pair) in .env to a token that can read them.
# The listener is plain HTTP on the compose network only; put TLS in front (or set
# tls_cert_file/tls_key_file here) before exposing port 8200 beyond the host.
storage "file" {
  path = "/openbao/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

api_addr      = "http://openbao:8200"
ui            = true
disable_mlock = true
