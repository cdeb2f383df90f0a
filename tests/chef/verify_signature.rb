# verify_signature.rb - a tiny Chef Server for the tests whose every request
# is authenticated by Debian's reference verifier, mixlib-authentication
# (Mixlib::Authentication::SignatureVerification), with the requesting
# client's public key. A request it does not verify gets 401, as from a real
# Chef Server.
#
# usage: ruby verify_signature.rb DIR ADMIN_NAME ADMIN_PUBLIC_KEY_PEM_FILE
#
# Listens on 127.0.0.1, an ephemeral port written to DIR/port once ready.
# Implements what autoscale uses, under any /organizations/<org> prefix:
#   POST /clients            {"name", "public_key"} (admin only) -> 201, 409
#   GET|DELETE /clients/N    -> 200, 404
#   POST /nodes              {"name", ...} -> 201 (the creator owns it), 409
#   GET|PUT|DELETE /nodes/N  -> 200, 404; PUT/DELETE by the owner or admin, else 403
# and insists on protocol v1.3 (X-Ops-Sign version=1.3, algorithm sha256),
# X-Ops-Server-API-Version 1, Accept: application/json and, with a body,
# Content-Type: application/json.
#
# Every request is appended to DIR/requests.log as one JSON line
# {method, path, user, status, verified}; the state is rewritten to
# DIR/state.json after each change: {"clients": {name: public_key},
# "nodes": {name: {"doc": ..., "owner": ...}}}.
require "openssl" # before mixlib: it uses OpenSSL without requiring it
require "json"
require "webrick"
require "mixlib/authentication"
require "mixlib/authentication/signatureverification"

dir, admin, admin_key_file = ARGV
abort "usage: verify_signature.rb DIR ADMIN PUBKEY" unless dir && admin && admin_key_file

$keys = { admin => OpenSSL::PKey::RSA.new(File.read(admin_key_file)) }
$clients = {}
$nodes = {}
$dir = dir

# What SignatureVerification reads from a request (the Rack/Merb shape).
VerifiableRequest = Struct.new(:method, :path, :env, :raw_post, :params)

def verifiable(req)
  env = {}
  req.each { |name, value| env["HTTP_" + name.upcase.tr("-", "_")] = value }
  VerifiableRequest.new(req.request_method, req.path, env, req.body || "", {})
end

# The user a request is signed as, or nil when mixlib does not verify it.
def authenticate(req)
  user = req["X-Ops-Userid"]
  key = user && $keys[user]
  return [user, nil] unless key
  v = Mixlib::Authentication::SignatureVerification.new
  ok = v.authenticate_user_request(verifiable(req), key)
  [user, ok ? user : nil]
rescue Mixlib::Authentication::AuthenticationError, StandardError => e
  $stderr.puts "verify_signature: #{e.class}: #{e.message}"
  [user, nil]
end

def protocol_error(req)
  sign = req["X-Ops-Sign"].to_s
  return "X-Ops-Sign must be algorithm=sha256;version=1.3" unless
    sign.include?("version=1.3") && sign.include?("algorithm=sha256")
  return "X-Ops-Server-API-Version must be 1" unless req["X-Ops-Server-API-Version"] == "1"
  return "Accept must be application/json" unless req["Accept"] == "application/json"
  if req.body && !req.body.empty? && req["Content-Type"] != "application/json"
    return "Content-Type must be application/json"
  end
  nil
end

def save_state
  state = { "clients" => $clients, "nodes" => $nodes }
  File.write(File.join($dir, "state.json.tmp"), JSON.generate(state))
  File.rename(File.join($dir, "state.json.tmp"), File.join($dir, "state.json"))
end

def reply(res, status, doc)
  res.status = status
  res["Content-Type"] = "application/json"
  res.body = JSON.generate(doc)
  status
end

def clients(req, res, user, name)
  case [req.request_method, name.nil?]
  when ["POST", true]
    return reply(res, 403, { "error" => ["only the admin creates clients"] }) unless user == $admin
    doc = JSON.parse(req.body)
    n = doc["name"]
    return reply(res, 409, { "error" => ["Client already exists"] }) if $clients.key?(n)
    pub = OpenSSL::PKey::RSA.new(doc.fetch("public_key"))
    $clients[n] = pub.to_pem
    $keys[n] = pub
    save_state
    reply(res, 201, { "uri" => "/clients/#{n}" })
  when ["GET", false]
    return reply(res, 404, { "error" => ["not found"] }) unless $clients.key?(name)
    reply(res, 200, { "name" => name, "public_key" => $clients[name] })
  when ["DELETE", false]
    return reply(res, 404, { "error" => ["not found"] }) unless $clients.key?(name)
    $clients.delete(name)
    $keys.delete(name)
    save_state
    reply(res, 200, { "name" => name })
  else
    reply(res, 405, { "error" => ["method not allowed"] })
  end
end

def nodes(req, res, user, name)
  node = name && $nodes[name]
  case [req.request_method, name.nil?]
  when ["POST", true]
    doc = JSON.parse(req.body)
    return reply(res, 409, { "error" => ["Node already exists"] }) if $nodes.key?(doc["name"])
    $nodes[doc["name"]] = { "doc" => doc, "owner" => user }
    save_state
    reply(res, 201, { "uri" => "/nodes/#{doc["name"]}" })
  when ["GET", false]
    node ? reply(res, 200, node["doc"]) : reply(res, 404, { "error" => ["not found"] })
  when ["PUT", false], ["DELETE", false]
    return reply(res, 404, { "error" => ["not found"] }) unless node
    return reply(res, 403, { "error" => ["missing update permission"] }) unless
      user == $admin || user == node["owner"]
    if req.request_method == "PUT"
      node["doc"] = JSON.parse(req.body)
    else
      $nodes.delete(name)
    end
    save_state
    reply(res, 200, node["doc"])
  else
    reply(res, 405, { "error" => ["method not allowed"] })
  end
end

def handle(req, res)
  user, verified = authenticate(req)
  problem = protocol_error(req)
  return [user, reply(res, 400, { "error" => [problem] })] if problem
  return [user, reply(res, 401, { "error" => ["Failed to authenticate as '#{user}'."] })] unless verified
  m = %r{\A(?:/organizations/[^/]+)?/(clients|nodes)(?:/([^/]+))?/?\z}.match(req.path)
  return [user, reply(res, 404, { "error" => ["no such endpoint"] })] unless m
  status = m[1] == "clients" ? clients(req, res, verified, m[2]) : nodes(req, res, verified, m[2])
  [user, status]
end

$admin = admin
save_state
server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0,
                                 Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN),
                                 AccessLog: [])
# WEBrick's mount_proc knows no DELETE: a servlet answering every method.
class ChefServlet < WEBrick::HTTPServlet::AbstractServlet
  %w[GET POST PUT DELETE].each do |m|
    define_method("do_#{m}") do |req, res|
      user, status = handle(req, res)
      File.open(File.join($dir, "requests.log"), "a") do |f|
        f.puts JSON.generate({ "method" => req.request_method, "path" => req.path,
                               "user" => user, "status" => status,
                               "verified" => status != 401 })
      end
    end
  end
end
server.mount("/", ChefServlet)
%w[TERM INT].each { |sig| trap(sig) { server.shutdown } }
port = server.listeners.first.addr[1]
File.write(File.join(dir, "port.tmp"), port.to_s)
File.rename(File.join(dir, "port.tmp"), File.join(dir, "port"))
server.start
