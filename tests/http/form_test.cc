#include "http/form.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "support/form_reference.h"

namespace devauth::http {
namespace {

FormParams parseOrFail(std::string_view text) {
  auto parsed = parseForm(text);
  EXPECT_TRUE(parsed.hasValue()) << "input: " << text;
  return parsed ? parsed.value() : FormParams{};
}

TEST(HttpFormTest, PlusDecodesAsSpace) {
  const FormParams form = parseOrFail("scope=read+write");
  EXPECT_EQ(form.get("scope"), "read write");
}

TEST(HttpFormTest, PercentTwoBDecodesAsPlus) {
  const FormParams form = parseOrFail("client_secret=a%2Bb%2bc");
  EXPECT_EQ(form.get("client_secret"), "a+b+c");
}

TEST(HttpFormTest, NamesAreDecodedToo) {
  const FormParams form = parseOrFail("client%5Fid=pub1");
  EXPECT_EQ(form.get("client_id"), "pub1");
}

TEST(HttpFormTest, RawColonsAccepted) {
  // RFC 8628 §3.4 grant type sent without percent-encoding its colons.
  const FormParams form = parseOrFail("grant_type=urn:ietf:params:oauth:grant-type:device_code");
  EXPECT_EQ(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:device_code");
}

TEST(HttpFormTest, EntriesKeepOrder) {
  const FormParams form = parseOrFail("b=2&a=1&c=3");
  ASSERT_EQ(form.entries.size(), 3U);
  EXPECT_EQ(form.entries[0], std::make_pair(std::string("b"), std::string("2")));
  EXPECT_EQ(form.entries[1], std::make_pair(std::string("a"), std::string("1")));
  EXPECT_EQ(form.entries[2], std::make_pair(std::string("c"), std::string("3")));
}

TEST(HttpFormTest, MalformedPercentEscapeRejected) {
  for (const std::string_view text : {"a=%", "a=%4", "a=%zz", "a=b%", "%zz=1", "a=%G0"}) {
    EXPECT_FALSE(parseForm(text).hasValue()) << "input: " << text;
  }
}

TEST(HttpFormTest, InvalidUtf8Rejected) {
  const std::string_view cases[] = {
      "a=%C3%28",        // a lead byte followed by a non-continuation byte
      "a=%C0%AF",        // overlong encoding of '/'
      "a=%ED%A0%80",     // UTF-16 surrogate U+D800
      "a=%E2%82",        // truncated three-byte sequence
      "a=%F4%90%80%80",  // above U+10FFFF
      "a=%FF",           // never valid in UTF-8
      "%C3%28=1",        // invalid name
  };
  for (const std::string_view text : cases) {
    EXPECT_FALSE(parseForm(text).hasValue()) << "input: " << text;
  }
}

TEST(HttpFormTest, ValidUtf8Accepted) {
  const FormParams form = parseOrFail("name=%C3%A9t%C3%A9&emoji=%F0%9F%98%80");
  EXPECT_EQ(form.get("name"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(form.get("emoji"), "\xF0\x9F\x98\x80");
}

TEST(HttpFormTest, UnencodedSpaceRejected) {
  EXPECT_FALSE(parseForm("scope=read write").hasValue());
}

TEST(HttpFormTest, EmptyValueCountsAsAbsent) {
  const FormParams form = parseOrFail("scope=&client_id=pub1&flag");
  EXPECT_EQ(form.get("scope"), std::nullopt);
  EXPECT_FALSE(form.has("scope"));
  EXPECT_EQ(form.get("flag"), std::nullopt);
  EXPECT_EQ(form.get("missing"), std::nullopt);
  EXPECT_EQ(form.get("client_id"), "pub1");
}

TEST(HttpFormTest, EmptyInputHasNoParameters) {
  const FormParams form = parseOrFail("");
  EXPECT_TRUE(form.entries.empty());
}

TEST(HttpFormTest, EmptySegmentsSkipped) {
  const FormParams form = parseOrFail("&a=1&&b=2&");
  ASSERT_EQ(form.entries.size(), 2U);
  EXPECT_EQ(form.get("a"), "1");
  EXPECT_EQ(form.get("b"), "2");
}

TEST(HttpFormTest, RepeatedNameDetected) {
  EXPECT_EQ(parseOrFail("a=1&b=2&a=3").firstRepeatedName(), "a");
  // RFC 6749 §3.2: identical values are still a repetition.
  EXPECT_EQ(parseOrFail("b=2&a=1&a=1&b=2").firstRepeatedName(), "b");
  EXPECT_EQ(parseOrFail("a=&a=1").firstRepeatedName(), "a");
  EXPECT_EQ(parseOrFail("a=1&a").firstRepeatedName(), "a");
}

TEST(HttpFormTest, RepeatedEmptyNameNotReported) {
  EXPECT_EQ(parseOrFail("a=&a=&b=1").firstRepeatedName(), std::nullopt);
  EXPECT_EQ(parseOrFail("a=1&b=2").firstRepeatedName(), std::nullopt);
}

TEST(HttpFormTest, ParameterCountCapped) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += (i == 0 ? "" : "&") + std::string("p") + std::to_string(i) + "=v";
  }
  EXPECT_TRUE(parseForm(text).hasValue());

  text += "&p100=v";
  auto parsed = parseForm(text);
  ASSERT_FALSE(parsed.hasValue());
  EXPECT_NE(parsed.error().find("100"), std::string::npos) << parsed.error();
}

TEST(HttpFormTest, ValueKeepsLaterEqualsSigns) {
  const FormParams form = parseOrFail("state=a=b&c==");
  EXPECT_EQ(form.get("state"), "a=b");
  EXPECT_EQ(form.get("c"), "=");
}

TEST(HttpFormTest, CharactersOutsideTheQuerySetRejected) {
  // RFC 3986 §3.4: these must be percent-encoded in a query, and a raw byte above 0x7F is never
  // a URI character.
  for (const std::string_view text :
       {"a=b#c", "a=[1]", "a=\"q\"", "a=<b>", "a=\xC3\xA9", "a\\b=1"}) {
    EXPECT_FALSE(parseForm(text).hasValue()) << "input: " << text;
  }
  EXPECT_FALSE(parseForm(std::string_view("a=b\0c", 5)).hasValue());
}

TEST(HttpFormTest, QuerySubDelimitersAccepted) {
  const FormParams form = parseOrFail("a=!$'()*,;:@/?&b=%00");
  EXPECT_EQ(form.get("a"), "!$'()*,;:@/?");
  EXPECT_EQ(form.get("b"), std::string(1, '\0'));
}

TEST(HttpFormTest, AgreesWithBoostUrlOnGeneratedInput) {
  // Short strings over an alphabet of separators, escapes, plus, bytes that must be escaped and
  // UTF-8 lead and continuation bytes, from a fixed seed so that a failure repeats.
  constexpr std::string_view kAlphabet = "ab=&%+2BCc8Af0 #[\xC3\xA9\xFF";
  std::mt19937 random(8628);
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 14);
  int accepted = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) {
      text.push_back(kAlphabet[pick(random)]);
    }
    const auto expected = testing::parseFormWithBoostUrl(text);
    const auto parsed = parseForm(text);
    ASSERT_EQ(parsed.hasValue(), expected.has_value()) << "input: " << text;
    if (expected) {
      ASSERT_EQ(parsed->entries, *expected) << "input: " << text;
      ++accepted;
    }
  }
  // Both outcomes must occur often, or the comparison tests little.
  EXPECT_GT(accepted, 5000);
  EXPECT_LT(accepted, 45000);
}

TEST(HttpFormTest, FormDecodeDecodesBasicCredentialPart) {
  // RFC 6749 §2.3.1: the client id and secret are form-encoded before base64.
  auto decoded = formDecode("s%2Fe+c%3Ar%25et");
  ASSERT_TRUE(decoded.hasValue()) << decoded.error();
  EXPECT_EQ(decoded.value(), "s/e c:r%et");
}

TEST(HttpFormTest, FormDecodeRejectsMalformedInput) {
  EXPECT_FALSE(formDecode("abc%").hasValue());
  EXPECT_FALSE(formDecode("%zz").hasValue());
  EXPECT_FALSE(formDecode("%C0%AF").hasValue());
}

TEST(HttpFormTest, FormEncodeEscapesReservedCharacters) {
  EXPECT_EQ(formEncode("a b+c/d:e&f=g"), "a+b%2Bc%2Fd%3Ae%26f%3Dg");
  EXPECT_EQ(formEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(formEncode("\xC3\xA9"), "%C3%A9");
}

TEST(HttpFormTest, FormEncodeRoundTrips) {
  const std::string original = "x y+z%/?#&=\xC3\xA9";
  auto decoded = formDecode(formEncode(original));
  ASSERT_TRUE(decoded.hasValue()) << decoded.error();
  EXPECT_EQ(decoded.value(), original);
}

}  // namespace
}  // namespace devauth::http
