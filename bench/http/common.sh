# Shared by the /redirect benchmarks (sourced).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# write_tokend_config WORK PORT STORE: WORK/tokend.yml for tokend on 127.0.0.1:PORT
# with an integration whose provider is a port nobody listens on, so a real
# flow's code exchange fails at once (after its take: the "used" state).
write_tokend_config() {
  local work=$1 port=$2 store=$3 closed_port
  closed_port=$(free_port)
  echo fake-secret > "$work/client_secret"
  cat > "$work/tokend.yml" <<YAML
state_dir: $work/state
runtime_dir: $work/run
log: {level: warn}
store: {plugin: $store}
http: {listen: 127.0.0.1:$port, max_connections: 4096}
integration:
  client_id: bench-client
  client_secret: {file: $work/client_secret}
  redirect_url: http://127.0.0.1:9/redirect
  auth_service: http://127.0.0.1:$closed_port/v1/authorize
  token_service: http://127.0.0.1:$closed_port/v1/access_token
  api_base: http://127.0.0.1:$closed_port/v1
  request_timeout_ms: 1000
YAML
}
