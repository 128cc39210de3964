#include "support/test_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "core/secret.h"

namespace devauth::testing {
namespace {

std::filesystem::path makeTemporaryDirectory() {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("devauth-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

}  // namespace

TestServer::TestServer(const std::function<void(Config&)>& adjust)
    : directory_(makeTemporaryDirectory()) {
  Config config;
  config.http.port = 0;
  config.http.io_threads = 2;
  config.store = (directory_ / "devauth.db").string();
  if (adjust) {
    adjust(config);
  }
  app_ = std::make_unique<App>(config, clock_, random_);
  auto started = app_->start();
  if (!started) {
    throw std::runtime_error("test server failed to start: " + started.error().message);
  }
}

TestServer::~TestServer() {
  app_->stop();
  app_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void TestServer::addPublicClient(const std::string& id, const std::vector<std::string>& scopes) {
  Client client;
  client.id = id;
  client.name = "Client " + id;
  client.type = ClientType::Public;
  client.allowed_scopes = scopes;
  client.default_scopes = scopes;
  client.created_at = clock_.now();
  auto inserted = store().insertClient(client);
  ASSERT_TRUE(inserted.hasValue()) << inserted.error().message;
}

void TestServer::addConfidentialClient(const std::string& id, const std::string& secret,
                                       bool may_approve, const std::vector<std::string>& scopes) {
  Client client;
  client.id = id;
  client.name = "Client " + id;
  client.type = ClientType::Confidential;
  client.secret_hash = hashSecret(secret);
  client.allowed_scopes = scopes;
  client.default_scopes = scopes;
  client.may_approve = may_approve;
  client.created_at = clock_.now();
  auto inserted = store().insertClient(client);
  ASSERT_TRUE(inserted.hasValue()) << inserted.error().message;
}

void TestServer::addUser(const std::string& username, const std::string& password) {
  User user;
  user.username = username;
  user.subject = "sub-" + username;
  user.password_hash = hashPassword(password);
  user.created_at = clock_.now();
  auto inserted = store().insertUser(user);
  ASSERT_TRUE(inserted.hasValue()) << inserted.error().message;
}

}  // namespace devauth::testing
