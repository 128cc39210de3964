// The signing key lifecycle on both backends: keys created on first use, rotation by age and by
// algorithm, one new key when instances rotate at once, removal after the overlap, and the
// key-encryption key that protects the private keys.

#include "keys/signing_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "postgres_test_database.h"
#include "support/manual_clock.h"

namespace devauth::testing {
namespace {

namespace fs = std::filesystem;

constexpr seconds kRotationAge{3600};
constexpr seconds kOverlap{600};
constexpr int kThreads = 8;

std::unique_ptr<Store> openMigrated(const std::string& location) {
  auto opened = openStore(location);
  if (!opened) {
    ADD_FAILURE() << "openStore failed: " << opened.error().message;
    return nullptr;
  }
  auto migrated = (*opened)->migrate();
  if (!migrated) {
    ADD_FAILURE() << "migrate failed: " << migrated.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

fs::path makeDirectory() {
  std::string pattern = (fs::path(::testing::TempDir()) / "devauth-keys-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  return pattern;
}

enum class Backend { Sqlite, Postgres };

class SigningKeysTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    directory_ = makeDirectory();
    if (GetParam() == Backend::Sqlite) {
      location_ = (directory_ / "devauth.db").string();
    } else {
      DEVAUTH_REQUIRE_POSTGRES_URL(url);
      database_.emplace(*url);
      location_ = database_->url();
    }
    store_ = openMigrated(location_);
    second_store_ = openMigrated(location_);
    ASSERT_NE(store_, nullptr);
    ASSERT_NE(second_store_, nullptr);
  }

  void TearDown() override {
    store_.reset();
    second_store_.reset();
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }

  SigningSettings settings(jose::SigningAlgorithm algorithm = jose::SigningAlgorithm::Es256) {
    SigningSettings settings;
    settings.algorithm = algorithm;
    settings.rotation_age = kRotationAge;
    settings.overlap = kOverlap;
    settings.key_encryption_key_file = (directory_ / "shared.kek").string();
    return settings;
  }

  std::unique_ptr<SigningKeys> keysOn(Store& store, const SigningSettings& settings) {
    return std::make_unique<SigningKeys>(store, clock_, settings, location_);
  }

  std::vector<std::string> storedKids() {
    std::vector<std::string> kids;
    auto keys = store_->listSigningKeys();
    EXPECT_TRUE(keys.hasValue()) << keys.error().message;
    if (keys.hasValue()) {
      for (const auto& key : *keys) {
        kids.push_back(key.kid);
      }
    }
    return kids;
  }

  // Calls activeKey on kThreads threads at once, half through each store as two instances
  // would, and returns the kids they got.
  std::set<std::string> raceActiveKey() {
    auto first = keysOn(*store_, settings());
    auto second = keysOn(*second_store_, settings());
    std::latch start(kThreads);
    std::mutex mutex;
    std::set<std::string> kids;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        SigningKeys& keys = i % 2 == 0 ? *first : *second;
        start.arrive_and_wait();
        auto active = keys.activeKey();
        std::lock_guard lock(mutex);
        if (active) {
          kids.insert(active->kid);
        } else {
          errors.push_back(active.error());
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    EXPECT_EQ(errors, std::vector<std::string>());
    return kids;
  }

  fs::path directory_;
  std::optional<TestDatabase> database_;
  std::string location_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> second_store_;
};

TEST_P(SigningKeysTest, ConcurrentFirstSignaturesCreateOneKey) {
  const std::set<std::string> kids = raceActiveKey();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(storedKids(), std::vector<std::string>{*kids.begin()});
}

TEST_P(SigningKeysTest, ConcurrentDueRotationsCreateOneNewKey) {
  auto first = keysOn(*store_, settings())->activeKey();
  ASSERT_TRUE(first.hasValue()) << first.error();
  clock_.advance(kRotationAge);

  const std::set<std::string> kids = raceActiveKey();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_NE(*kids.begin(), first->kid);
  EXPECT_EQ(storedKids(), (std::vector<std::string>{*kids.begin(), first->kid}));
}

TEST_P(SigningKeysTest, KeyYoungerThanRotationAgeKeepsSigning) {
  auto keys = keysOn(*store_, settings());
  auto first = keys->activeKey();
  ASSERT_TRUE(first.hasValue()) << first.error();
  clock_.advance(kRotationAge - seconds(1));
  auto again = keys->activeKey();
  ASSERT_TRUE(again.hasValue()) << again.error();
  EXPECT_EQ(again->kid, first->kid);
  EXPECT_EQ(storedKids().size(), 1u);
}

TEST_P(SigningKeysTest, AnotherInstanceDecryptsTheSharedKey) {
  auto created = keysOn(*store_, settings())->activeKey();
  ASSERT_TRUE(created.hasValue()) << created.error();
  auto read = keysOn(*second_store_, settings())->activeKey();
  ASSERT_TRUE(read.hasValue()) << read.error();
  EXPECT_EQ(read->kid, created->kid);
  EXPECT_EQ(read->key.thumbprint(), created->kid);
  EXPECT_TRUE(read->key.hasPrivateKey());
}

TEST_P(SigningKeysTest, OtherKeyEncryptionKeyCannotDecrypt) {
  ASSERT_TRUE(keysOn(*store_, settings())->activeKey().hasValue());
  SigningSettings other = settings();
  other.key_encryption_key_file = (directory_ / "other.kek").string();
  auto active = keysOn(*second_store_, other)->activeKey();
  ASSERT_FALSE(active.hasValue());
  EXPECT_NE(active.error().find("cannot be decrypted"), std::string::npos) << active.error();
}

TEST_P(SigningKeysTest, AlgorithmChangeRotatesAtOnce) {
  auto es256 = keysOn(*store_, settings())->activeKey();
  ASSERT_TRUE(es256.hasValue()) << es256.error();
  auto eddsa = keysOn(*store_, settings(jose::SigningAlgorithm::EdDsa))->activeKey();
  ASSERT_TRUE(eddsa.hasValue()) << eddsa.error();
  EXPECT_NE(eddsa->kid, es256->kid);
  EXPECT_EQ(eddsa->key.algorithm(), jose::SigningAlgorithm::EdDsa);
}

TEST_P(SigningKeysTest, MaintainCreatesNoFirstKey) {
  auto maintained = keysOn(*store_, settings())->maintain();
  ASSERT_TRUE(maintained.hasValue()) << maintained.error();
  EXPECT_EQ(storedKids(), std::vector<std::string>());
}

TEST_P(SigningKeysTest, MaintainRotatesDueKeyAndRemovesItAfterOverlap) {
  auto keys = keysOn(*store_, settings());
  auto first = keys->activeKey();
  ASSERT_TRUE(first.hasValue()) << first.error();

  clock_.advance(kRotationAge);
  ASSERT_TRUE(keys->maintain().hasValue());
  const std::vector<std::string> rotated = storedKids();
  ASSERT_EQ(rotated.size(), 2u);
  EXPECT_EQ(rotated[1], first->kid);
  auto published = keys->publishedJwks();
  ASSERT_TRUE(published.hasValue()) << published.error();
  EXPECT_EQ(published->size(), 2u);

  clock_.advance(kOverlap - seconds(1));
  ASSERT_TRUE(keys->maintain().hasValue());
  EXPECT_EQ(storedKids().size(), 2u);
  clock_.advance(seconds(1));
  ASSERT_TRUE(keys->maintain().hasValue());
  EXPECT_EQ(storedKids(), std::vector<std::string>{rotated[0]});
}

TEST_P(SigningKeysTest, ListShowsActiveAndPublishedUntil) {
  auto keys = keysOn(*store_, settings());
  auto first = keys->rotate();
  ASSERT_TRUE(first.hasValue()) << first.error();
  clock_.advance(seconds(10));
  auto second = keys->rotate();
  ASSERT_TRUE(second.hasValue()) << second.error();
  EXPECT_NE(second->kid, first->kid);

  auto listed = keys->list();
  ASSERT_TRUE(listed.hasValue()) << listed.error();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE((*listed)[0].active);
  EXPECT_EQ((*listed)[0].published_until, std::nullopt);
  EXPECT_FALSE((*listed)[1].active);
  EXPECT_EQ((*listed)[1].published_until, second->created_at + kOverlap);
}

INSTANTIATE_TEST_SUITE_P(Backends, SigningKeysTest,
                         ::testing::Values(Backend::Sqlite, Backend::Postgres),
                         [](const auto& info) {
                           return info.param == Backend::Sqlite ? "Sqlite" : "Postgres";
                         });

// --- The key-encryption key ------------------------------------------------------------------

class KeyEncryptionKeyTest : public ::testing::Test {
 protected:
  void SetUp() override { directory_ = makeDirectory(); }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }
  fs::path directory_;
};

TEST_F(KeyEncryptionKeyTest, MissingFileIsCreatedOwnerOnly) {
  const fs::path file = directory_ / "new.kek";
  auto key = KeyEncryptionKey::load(file.string(), "devauth.db");
  ASSERT_TRUE(key.hasValue()) << key.error();
  struct stat status {};
  ASSERT_EQ(::stat(file.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text.size(), 43u);

  // Loading again reads the same key: what one load seals, the other opens.
  auto again = KeyEncryptionKey::load(file.string(), "devauth.db");
  ASSERT_TRUE(again.hasValue()) << again.error();
  EXPECT_EQ(again->open(key->seal("private", "kid"), "kid"), std::optional<std::string>("private"));
}

TEST_F(KeyEncryptionKeyTest, SqliteDefaultIsBesideTheDatabase) {
  const std::string database = (directory_ / "store.db").string();
  ASSERT_TRUE(KeyEncryptionKey::load("", "sqlite:" + database).hasValue());
  EXPECT_TRUE(fs::exists(database + ".kek"));
}

TEST_F(KeyEncryptionKeyTest, FileReadableByOthersIsRejected) {
  const fs::path file = directory_ / "open.kek";
  std::ofstream(file) << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
  fs::permissions(file, fs::perms(0640));
  auto key = KeyEncryptionKey::load(file.string(), "devauth.db");
  ASSERT_FALSE(key.hasValue());
  EXPECT_EQ(key.error(), "the key-encryption key file " + file.string() +
                             " is accessible by group or others; run chmod 600 on it");
}

TEST_F(KeyEncryptionKeyTest, ShortKeyIsRejected) {
  const fs::path file = directory_ / "short.kek";
  std::ofstream(file) << "c2hvcnQ\n";
  fs::permissions(file, fs::perms(0600));
  auto key = KeyEncryptionKey::load(file.string(), "devauth.db");
  ASSERT_FALSE(key.hasValue());
  EXPECT_NE(key.error().find("expected 32 bytes"), std::string::npos) << key.error();
}

TEST_F(KeyEncryptionKeyTest, PostgresNeedsAConfiguredKey) {
  auto key = KeyEncryptionKey::load("", "postgresql://devauth@db.example/devauth");
  ASSERT_FALSE(key.hasValue());
  EXPECT_NE(key.error().find("--key-encryption-key-file"), std::string::npos) << key.error();
}

TEST_F(KeyEncryptionKeyTest, EnvironmentVariableComesFirst) {
  ::setenv(kKeyEncryptionKeyVariable, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE", 1);
  auto from_variable = KeyEncryptionKey::load((directory_ / "unused.kek").string(), "devauth.db");
  ::unsetenv(kKeyEncryptionKeyVariable);
  ASSERT_TRUE(from_variable.hasValue()) << from_variable.error();
  EXPECT_FALSE(fs::exists(directory_ / "unused.kek"));
  auto same = KeyEncryptionKey::fromText("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE");
  ASSERT_TRUE(same.hasValue());
  EXPECT_EQ(same->open(from_variable->seal("x", "kid"), "kid"), std::optional<std::string>("x"));
}

TEST_F(KeyEncryptionKeyTest, SealedKeyIsBoundToItsKid) {
  auto key = KeyEncryptionKey::fromText("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE");
  ASSERT_TRUE(key.hasValue());
  const std::string sealed = key->seal("private key", "kid-1");
  EXPECT_EQ(sealed.find("private key"), std::string::npos);
  EXPECT_EQ(key->open(sealed, "kid-2"), std::nullopt);
  std::string flipped = sealed;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  EXPECT_EQ(key->open(flipped, "kid-1"), std::nullopt);
  EXPECT_EQ(key->open(sealed, "kid-1"), std::optional<std::string>("private key"));
}

}  // namespace
}  // namespace devauth::testing
