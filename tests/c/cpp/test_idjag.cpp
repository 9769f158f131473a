// The C++ test of libidjag through include/idjag.hpp (GoogleTest), built with CMake against the
// installed CMake package (find_package(idjag CONFIG), target idjag::idjag or
// idjag::idjag_static). It starts `idjag-testkit serve --json` ($IDJAG_TESTKIT) and replays the
// shared verifier vectors ($IDJAG_VECTORS/verify.json).
#include <idjag.hpp>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/kit.h"

namespace {

kit *KIT = nullptr;

std::string get(const char *path) {
    const char *v = kit_get(KIT, path);
    return v ? v : "";
}

std::string take(char *s) {
    std::string out = s ? s : "";
    std::free(s);
    return out;
}

std::string json_str(const std::string &json, const char *path) {
    return take(json_string(json.c_str(), path));
}

std::string session_config(const std::string &subject = "") {
    std::string id_token = subject.empty() ? take(kit_id_token(KIT, "alice")) : subject;
    return take(kit_session_config(KIT, id_token.c_str()));
}

long call_tool(std::string_view authorization, const char *tool, std::string *www = nullptr) {
    std::string body = std::string("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",") +
                       "\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";
    std::string auth(authorization);
    http_response r;
    if (http_request("POST", get("mcp_url").c_str(), auth.c_str(), body.c_str(), &r) != 0)
        return -1;
    if (www && r.www_authenticate) *www = r.www_authenticate;
    long status = r.status;
    http_response_free(&r);
    return status;
}

class Env : public ::testing::Environment {
  public:
    void SetUp() override {
        const char *bin = std::getenv("IDJAG_TESTKIT");
        ASSERT_NE(bin, nullptr) << "set IDJAG_TESTKIT";
        curl_global_init(CURL_GLOBAL_DEFAULT);
        KIT = kit_start(bin);
        ASSERT_NE(KIT, nullptr);
    }
    void TearDown() override {
        kit_stop(KIT);
        curl_global_cleanup();
    }
};

TEST(Session, TokenWorksOnTheMcpServer) {
    kit_reset(KIT);
    idjag::Session s(session_config());
    idjag::Token t = s.access_token(get("mcp_url"));
    EXPECT_EQ(t.authorization(), "Bearer " + std::string(t.access_token()));
    EXPECT_EQ(t.resource(), get("mcp_url"));
    EXPECT_EQ(t.authorization_server(), get("as_issuer"));
    EXPECT_GT(t.expires_at(), 1700000000);
    EXPECT_EQ(call_tool(t.authorization(), "whoami"), 200);
    auto cached = s.cached_token(get("mcp_url"));
    ASSERT_TRUE(cached.has_value());
    EXPECT_EQ(cached->access_token(), t.access_token());
    EXPECT_FALSE(s.cached_token("http://127.0.0.1:9/other").has_value());
    EXPECT_EQ(json_str(s.discover(get("mcp_url")), "resource"), get("mcp_url"));
    EXPECT_EQ(kit_requests(KIT, "idp_token"), 1);
    EXPECT_EQ(kit_requests(KIT, "as_token"), 1);
    // Move semantics: the moved-from token is empty, the moved-to one owns the handle.
    idjag::Token moved = std::move(t);
    EXPECT_FALSE(moved.access_token().empty());
    s.invalidate(get("mcp_url"));
    EXPECT_FALSE(s.cached_token(get("mcp_url")).has_value());
}

TEST(Session, AnswersChallenges) {
    kit_reset(KIT);
    idjag::Session s(session_config());
    idjag::Token t = s.access_token(get("mcp_url"));
    free(kit_admin(KIT, "revoke_access_tokens", "{}"));
    std::string www;
    ASSERT_EQ(call_tool(t.authorization(), "whoami", &www), 401);
    idjag::Token fresh = s.handle_challenge(get("mcp_url"), 401, www, std::string(t.access_token()));
    EXPECT_NE(fresh.access_token(), t.access_token());
    EXPECT_EQ(call_tool(fresh.authorization(), "whoami"), 200);
    ASSERT_EQ(call_tool(fresh.authorization(), "admin_reset", &www), 403);
    idjag::Token admin =
        s.handle_challenge(get("mcp_url"), 403, www, std::string(fresh.access_token()));
    ASSERT_TRUE(admin.scope().has_value());
    EXPECT_NE(admin.scope()->find("mcp:admin"), std::string_view::npos);
    EXPECT_EQ(call_tool(admin.authorization(), "admin_reset"), 200);
}

TEST(Session, EventCallbackMayCallTheSession) {
    kit_reset(KIT);
    std::mutex m;
    std::vector<std::string> steps;
    int reentrant_hits = 0;
    std::unique_ptr<idjag::Session> s;
    s = std::make_unique<idjag::Session>(session_config(), [&](std::string_view ev) {
        std::string step = json_str(std::string(ev), "step");
        bool hit = s->cached_token(get("mcp_url")).has_value();  // re-entrant
        std::lock_guard<std::mutex> g(m);
        steps.push_back(step);
        reentrant_hits += hit;
    });
    idjag::Token t = s->access_token(get("mcp_url"));
    std::set<std::string> seen(steps.begin(), steps.end());
    EXPECT_TRUE(seen.count("discovery") && seen.count("idp_exchange") && seen.count("as_grant"));
    EXPECT_EQ(reentrant_hits, static_cast<int>(steps.size()));
    // An exception thrown by the callback is dropped, never crosses into C.
    idjag::Session throwing(session_config(), [](std::string_view) { throw std::runtime_error("x"); });
    EXPECT_NO_THROW(throwing.access_token(get("mcp_url")));
}

TEST(Session, EightThreadsShareOneExchange) {
    kit_reset(KIT);
    const idjag::Session s(session_config());
    std::atomic<int> ready{0};
    std::vector<std::string> tokens(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; i++) {
        threads.emplace_back([&, i] {
            ready++;
            while (ready.load() < 8) std::this_thread::yield();
            tokens[i] = std::string(s.access_token(get("mcp_url")).access_token());
        });
    }
    for (auto &th : threads) th.join();
    for (const auto &tok : tokens) EXPECT_EQ(tok, tokens[0]);
    EXPECT_FALSE(tokens[0].empty());
    EXPECT_EQ(kit_requests(KIT, "idp_token"), 1);
    EXPECT_EQ(kit_requests(KIT, "as_token"), 1);
}

TEST(Errors, BadConfiguration) {
    try {
        idjag::Session s("{\"idp\": {\"issuer\": \"https://idp.example\", \"client_id\": \"c\"}, "
                         "\"colour\": \"blue\"}");
        FAIL() << "no exception";
    } catch (const idjag::Error &e) {
        EXPECT_EQ(e.result(), IDJAG_CONFIGURATION);
        EXPECT_EQ(e.code(), "configuration");
        EXPECT_EQ(e.step(), "config");
        EXPECT_EQ(e.action(), "reconfigure");
        EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
        EXPECT_EQ(e.status(), 0);
        EXPECT_FALSE(e.oauth_error().has_value());
    }
    EXPECT_THROW(idjag::Verifier("{}"), idjag::Error);
}

TEST(Errors, UnreachableServer) {
    idjag::Session s(session_config());
    try {
        s.access_token("http://127.0.0.1:1/mcp");
        FAIL() << "no exception";
    } catch (const idjag::Error &e) {
        EXPECT_EQ(e.result(), IDJAG_TRANSPORT);
        EXPECT_EQ(e.code(), "transport");
        EXPECT_EQ(e.action(), "retry");
        idjag::Error copy = e;  // copies share the error object
        EXPECT_EQ(copy.code(), "transport");
    }
}

TEST(Errors, Reauthentication) {
    idjag::Session s(session_config("not-an-id-token"));
    try {
        s.access_token(get("mcp_url"));
        FAIL() << "no exception";
    } catch (const idjag::Error &e) {
        EXPECT_EQ(e.code(), "reauthentication_required");
        EXPECT_EQ(e.action(), "reauthenticate");
        EXPECT_EQ(e.step(), "idp_exchange");
        EXPECT_EQ(e.oauth_error().value_or(""), "invalid_grant");
        EXPECT_EQ(e.status(), 400);
    }
    s.set_subject_token(take(kit_id_token(KIT, "alice")));
    EXPECT_FALSE(s.access_token(get("mcp_url")).access_token().empty());
    EXPECT_THROW(s.set_subject_token("x", "password"), idjag::Error);
}

TEST(Verifier, AcceptsOnceThenRejectsAsReplayed) {
    idjag::Verifier v(take(kit_verifier_config(KIT)));
    EXPECT_EQ(v.issuer(), get("as_issuer"));
    v.prefetch_keys();
    std::string id_jag = take(kit_id_jag(KIT, "alice"));
    std::string grant = v.verify(id_jag, get("clients.as.client_id"));
    EXPECT_EQ(json_str(grant, "sub"), "alice");
    EXPECT_EQ(json_str(grant, "resource.0"), get("mcp_url"));
    try {
        v.verify(id_jag, get("clients.as.client_id"));
        FAIL() << "no exception";
    } catch (const idjag::Error &e) {
        EXPECT_EQ(e.code(), "verification_failed");
        EXPECT_EQ(e.reason().value_or(""), "replayed");
        auto [status, body] = e.token_response();
        EXPECT_EQ(status, 400);
        EXPECT_EQ(json_str(body, "error"), "invalid_grant");
    }
    EXPECT_EQ(json_str(idjag::inspect(take(kit_id_jag(KIT, "bob"))), "claims.sub"), "bob");
    EXPECT_THROW(idjag::inspect("nope"), idjag::Error);
    EXPECT_EQ(idjag::version(), IDJAG_VERSION);
}

TEST(Vectors, VerifierCases) {
    const char *dir = std::getenv("IDJAG_VECTORS");
    ASSERT_NE(dir, nullptr) << "set IDJAG_VECTORS";
    std::string text = take(read_file((std::string(dir) + "/verify.json").c_str()));
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> doc(cJSON_Parse(text.c_str()), &cJSON_Delete);
    ASSERT_TRUE(doc);
    auto now = static_cast<std::int64_t>(cJSON_GetObjectItem(doc.get(), "now")->valuedouble);
    std::vector<std::pair<std::string, idjag::Verifier>> verifiers;
    const cJSON *c = nullptr;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc.get(), "configs")) {
        char *cfg = cJSON_PrintUnformatted(c);
        verifiers.emplace_back(c->string, idjag::Verifier::insecure_fixed_clock(cfg, now));
        std::free(cfg);
    }
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc.get(), "cases")) {
        std::string name = cJSON_GetObjectItem(c, "name")->valuestring;
        std::string config = cJSON_GetObjectItem(c, "config")->valuestring;
        const cJSON *scope = cJSON_GetObjectItem(c, "requested_scope");
        const cJSON *expect = cJSON_GetObjectItem(c, "expect");
        const idjag::Verifier *v = nullptr;
        for (const auto &[k, ver] : verifiers)
            if (k == config) v = &ver;
        ASSERT_NE(v, nullptr) << name;
        std::optional<std::string> sc;
        if (cJSON_IsString(scope)) sc = scope->valuestring;
        std::string result = cJSON_GetObjectItem(expect, "result")->valuestring;
        try {
            std::string grant = v->verify(cJSON_GetObjectItem(c, "assertion")->valuestring,
                                          cJSON_GetObjectItem(c, "client_id")->valuestring, sc);
            EXPECT_EQ(result, "accepted") << name;
            std::unique_ptr<cJSON, decltype(&cJSON_Delete)> got(cJSON_Parse(grant.c_str()),
                                                                &cJSON_Delete);
            for (const char *f : {"iss", "sub", "client_id", "resource", "resource_defaulted",
                                  "scope", "jti", "exp", "iat"})
                EXPECT_TRUE(cJSON_Compare(cJSON_GetObjectItem(expect, f),
                                          cJSON_GetObjectItem(got.get(), f), 1))
                    << name << ": " << f;
        } catch (const idjag::Error &e) {
            EXPECT_EQ(result, "rejected") << name << ": " << e.what();
            EXPECT_EQ(e.code(), cJSON_GetObjectItem(expect, "error")->valuestring) << name;
            const cJSON *reason = cJSON_GetObjectItem(expect, "reason");
            EXPECT_EQ(e.reason().value_or(""), cJSON_IsString(reason) ? reason->valuestring : "")
                << name;
        }
        n++;
    }
    EXPECT_GE(n, 40);
}

}  // namespace

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new Env);
    return RUN_ALL_TESTS();
}
