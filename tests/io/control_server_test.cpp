#include "io/control_server.h"

#include "loop_thread.h"
#include "unix_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

namespace tokend {
namespace {

using namespace std::chrono_literals;
using test::LoopThread;
using test::UnixClient;

class ControlServerTest : public testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/tokend-ctl-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/control.sock";
    }
    void TearDown() override {
        if (server_) {
            loop_.run_on_loop([this] {  // what a failed test left held goes on the loop thread
                held_answer_.reset();
                held_session_.reset();
            });
            EXPECT_EQ(loop_.stop([this](std::function<void()> done) { server_->close(std::move(done)); }), 0)
                << "a handle leaked";
        }
        std::filesystem::remove_all(dir_);
    }

    // Starts a server whose handler answers ping at once, "delay" later (by a
    // timer, so pipelined answers complete out of order), and echoes others.
    void start(ControlLimits limits = {}) {
        server_ = std::make_unique<ControlServer>(
            loop_.loop(), limits,
            [this](const std::shared_ptr<ControlServer::Session>& session, ControlRequest&& request,
                   ControlServer::Responder respond) {
                last_peer_ = session->peer();
                if (request.op->name == "stats") {  // answered after a delay, from a timer
                    auto* timer = new uv_timer_t;
                    uv_timer_init(loop_.loop(), timer);
                    timer->data = new std::function<void()>([respond, id = request.id] {
                        respond(encode_ok(id, {{"late", true}}));
                    });
                    uv_timer_start(timer, [](uv_timer_t* t) {
                        auto* fn = static_cast<std::function<void()>*>(t->data);
                        (*fn)();
                        delete fn;
                        uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
                    }, 50, 0);
                    return;
                }
                if (request.op->name == "flow_maintenance") {  // a handler bug: two copies answer
                    ControlServer::Responder copy = respond;
                    respond(encode_ok(request.id, {{"first", true}}));
                    copy(encode_ok(request.id, {{"second", true}}));
                    return;
                }
                if (request.op->name == "watch") {
                    respond(encode_ok(request.id, nlohmann::json::object()));
                    session->set_watching();
                    session->push(encode_event("context_set", "u1", "2026-11-28T10:00:00+00:00"));
                    return;
                }
                if (request.op->name == "export") {  // held with its session, answered when the test says
                    held_session_ = session;
                    held_answer_.emplace(std::move(respond));
                    held_id_ = request.id;
                    return;
                }
                if (request.op->name == "get_token") {  // answered from a buffer reused at once, as the handler's is
                    const char fill = static_cast<char>('a' + request.id.get<int>() % 26);
                    reused_ = encode_ok(request.id, {{"payload", std::string(8000, fill)}});
                    respond(std::string_view(reused_));
                    std::fill(reused_.begin(), reused_.end(), 'X');
                    return;
                }
                respond(encode_ok(request.id, {{"op", request.op->name}}));
            });
        server_->listen(path_, 0660, -1);
        loop_.start();
    }

    std::string dir_, path_;
    LoopThread loop_;
    std::unique_ptr<ControlServer> server_;
    PeerCredentials last_peer_;
    std::string reused_;
    std::shared_ptr<ControlServer::Session> held_session_;  // loop thread only
    std::optional<ControlServer::Responder> held_answer_;
    nlohmann::json held_id_;
};

nlohmann::json parse(const std::string& line) { return nlohmann::json::parse(line); }

TEST_F(ControlServerTest, AnswersAndReportsPeerCredentials) {
    start();
    UnixClient client(path_);
    ASSERT_TRUE(client.connected());
    auto response = parse(client.call(R"({"id": 1, "op": "ping"})"));
    EXPECT_EQ(response["id"], 1);
    EXPECT_EQ(response["ok"], true);
    EXPECT_EQ(response["result"]["op"], "ping");
    EXPECT_EQ(last_peer_.uid, ::getuid());
    EXPECT_EQ(last_peer_.pid, ::getpid());
    EXPECT_EQ(last_peer_.gid, ::getgid());
    // The supplementary groups this process holds (SO_PEERGROUPS), in any order.
    std::vector<gid_t> own(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)));
    own.resize(static_cast<size_t>(std::max(::getgroups(static_cast<int>(own.size()), own.data()), 0)));
    std::vector<gid_t> seen = last_peer_.groups;
    std::sort(own.begin(), own.end());
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, own);
}

TEST_F(ControlServerTest, SocketHasTheConfiguredMode) {
    start();
    struct stat info {};
    ASSERT_EQ(::stat(path_.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, PipelinedResponsesKeepRequestOrder) {
    start();
    UnixClient client(path_);
    // stats answers 50 ms later than the pings after it; order must still hold.
    ASSERT_TRUE(client.send("{\"id\":1,\"op\":\"stats\"}\n{\"id\":2,\"op\":\"ping\"}\n{\"id\":3,\"op\":\"stats\"}\n"
                            "{\"id\":4,\"op\":\"ping\"}\n"));
    for (int id = 1; id <= 4; ++id) {
        std::string line;
        ASSERT_TRUE(client.read_line(&line));
        EXPECT_EQ(parse(line)["id"], id) << line;
    }
}

TEST_F(ControlServerTest, ManyPipelinedRequestsOnOneConnection) {
    start();
    UnixClient client(path_);
    std::string batch;
    for (int id = 0; id < 10000; ++id) batch += "{\"id\":" + std::to_string(id) + ",\"op\":\"ping\"}\n";
    std::thread writer([&] { client.send(batch); });
    for (int id = 0; id < 10000; ++id) {
        std::string line;
        ASSERT_TRUE(client.read_line(&line));
        ASSERT_EQ(parse(line)["id"], id);
    }
    writer.join();
}

TEST_F(ControlServerTest, ASecondAnswerToOneRequestIsDropped) {
    start();
    UnixClient client(path_);
    // Behind a held answer (stats answers late) and with nothing held.
    ASSERT_TRUE(client.send("{\"id\":1,\"op\":\"stats\"}\n{\"id\":2,\"op\":\"flow_maintenance\"}\n"
                            "{\"id\":3,\"op\":\"flow_maintenance\"}\n{\"id\":4,\"op\":\"ping\"}\n"));
    for (int id = 1; id <= 4; ++id) {
        std::string line;
        ASSERT_TRUE(client.read_line(&line));
        const auto response = parse(line);
        EXPECT_EQ(response["id"], id) << line;
        EXPECT_FALSE(response["result"].contains("second")) << line;
    }
}

// Answers given as a view of a buffer the handler reuses: batched, held behind
// a slower answer, or left over from a partial write, they are copied; the
// client reads each as it was when given.
TEST_F(ControlServerTest, AnswersFromAReusedBufferArriveIntact) {
    start();
    UnixClient client(path_);
    int small = 4096;
    ::setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string batch;
    for (int id = 1; id <= 100; ++id) batch += "{\"id\":" + std::to_string(id) + ",\"op\":\"get_token\"}\n";
    batch += "{\"id\":101,\"op\":\"stats\"}\n";  // answered 50 ms later: the next ones wait behind it
    for (int id = 102; id <= 200; ++id) batch += "{\"id\":" + std::to_string(id) + ",\"op\":\"get_token\"}\n";
    ASSERT_TRUE(client.send(batch));
    std::this_thread::sleep_for(100ms);  // the socket fills and the rest queues (the checks hold either way)
    for (int id = 1; id <= 200; ++id) {
        std::string line;
        ASSERT_TRUE(client.read_line(&line));
        const auto answer = parse(line);
        ASSERT_EQ(answer["id"], id);
        if (id == 101) {
            EXPECT_EQ(answer["result"]["late"], true);
        } else {
            EXPECT_EQ(answer["result"]["payload"], std::string(8000, static_cast<char>('a' + id % 26))) << id;
        }
    }
}

// A handler that still holds a closed connection's session and answer (a
// store read finishing late) writes nothing: the descriptor was closed with the
// connection and its number is likely another connection's by then.
TEST_F(ControlServerTest, NothingReachesAClosedConnectionsDescriptorAfterItsNumberIsReused) {
    start();
    UnixClient gone(path_);
    ASSERT_TRUE(gone.send("{\"id\":1,\"op\":\"export\"}\n"));
    bool held = false;
    for (int tries = 0; tries < 500 && !held; ++tries) {
        loop_.run_on_loop([&] { held = held_answer_.has_value(); });
        if (!held) std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(held);
    ASSERT_EQ(::shutdown(gone.fd(), SHUT_WR), 0);
    ASSERT_TRUE(gone.closed_by_peer(5s));  // the server has closed its side, descriptor and all

    UnixClient next(path_);  // its socket, or the server's for it, takes the freed number
    ASSERT_EQ(parse(next.call(R"({"id": 2, "op": "ping"})"))["id"], 2);
    loop_.run_on_loop([&] {
        EXPECT_TRUE(held_session_->closed());
        held_session_->push(encode_event("context_set", "u1", "2026-11-28T10:00:00+00:00"));
        (*held_answer_)(encode_ok(held_id_, {{"late", true}}));
        held_answer_.reset();
        held_session_.reset();
    });
    // Had either reached the reused descriptor, `next` would read it (or the
    // server's bad_request for it) before this answer.
    ASSERT_EQ(parse(next.call(R"({"id": 3, "op": "ping"})"))["id"], 3);
    std::string extra;
    EXPECT_FALSE(next.read_line(&extra, 200ms)) << extra;
}

TEST_F(ControlServerTest, GarbageGetsBadRequestAndTheConnectionGoesOn) {
    start();
    UnixClient client(path_);
    for (const char* garbage : {"not json", "{\"op\": 5}", "[1,2]", "{\"op\":\"x\xff\"}"}) {
        auto response = parse(client.call(garbage));
        EXPECT_EQ(response["ok"], false) << garbage;
        EXPECT_EQ(response["error"]["code"], "bad_request") << garbage;
    }
    EXPECT_EQ(parse(client.call(R"({"id":"u","op":"nope"})"))["error"]["code"], "unknown_op");
    EXPECT_EQ(parse(client.call(R"({"op":"ping"})"))["ok"], true);
}

TEST_F(ControlServerTest, OverlongLineIsRefusedWithoutKillingTheConnection) {
    ControlLimits limits;
    limits.max_line_bytes = 1024;
    start(limits);
    UnixClient client(path_);
    auto response = parse(client.call(std::string(5000, 'x')));
    EXPECT_EQ(response["error"]["code"], "bad_request");
    EXPECT_NE(response["error"]["message"].get<std::string>().find("longer than 1024"), std::string::npos);
    EXPECT_EQ(parse(client.call(R"({"op":"ping"})"))["ok"], true);
}

TEST_F(ControlServerTest, HalfLineThenSilenceIsCutOffByTheIdleTimeout) {
    ControlLimits limits;
    limits.idle_timeout = 200ms;
    start(limits);
    UnixClient slow(path_);
    ASSERT_TRUE(slow.send("{\"op\":\"pi"));
    EXPECT_TRUE(slow.closed_by_peer(5s));
    UnixClient other(path_);
    EXPECT_EQ(parse(other.call(R"({"op":"ping"})"))["ok"], true);  // others unaffected
}

TEST_F(ControlServerTest, WatchersAreNotIdle) {
    ControlLimits limits;
    limits.idle_timeout = 100ms;
    start(limits);
    UnixClient watcher(path_);
    EXPECT_EQ(parse(watcher.call(R"({"op":"watch"})"))["ok"], true);
    std::string event;
    ASSERT_TRUE(watcher.read_line(&event));
    EXPECT_EQ(parse(event)["event"], "context_set");
    EXPECT_FALSE(watcher.closed_by_peer(400ms));
}

TEST_F(ControlServerTest, AClientThatNeverReadsIsDisconnected) {
    ControlLimits limits;
    limits.max_write_queue_bytes = 64 * 1024;
    start(limits);
    UnixClient hog(path_);
    int small = 4096;
    ::setsockopt(hog.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string batch;
    for (int i = 0; i < 2000; ++i) batch += "{\"id\":" + std::to_string(i) + ",\"op\":\"ping-with-a-long-name\"}\n";
    batch.clear();
    for (int i = 0; i < 20000; ++i) batch += "{\"id\":\"" + std::string(200, 'i') + "\",\"op\":\"ping\"}\n";
    hog.send(batch);  // may fail part-way once the server gives up
    EXPECT_TRUE(hog.closed_by_peer(10s));
    UnixClient other(path_);
    EXPECT_EQ(parse(other.call(R"({"op":"ping"})"))["ok"], true);
}

TEST_F(ControlServerTest, ConnectionLimitRefusesExtraClients) {
    ControlLimits limits;
    limits.max_connections = 2;
    start(limits);
    UnixClient a(path_), b(path_);
    ASSERT_EQ(parse(a.call(R"({"op":"ping"})"))["ok"], true);
    ASSERT_EQ(parse(b.call(R"({"op":"ping"})"))["ok"], true);
    UnixClient c(path_);
    EXPECT_TRUE(c.closed_by_peer(5s));
    EXPECT_EQ(parse(a.call(R"({"op":"ping"})"))["ok"], true);
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneIsNotStolen) {
    // A stale socket file: bound once, nobody listening.
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        ::close(fd);
    }
    start();
    UnixClient client(path_);
    EXPECT_EQ(parse(client.call(R"({"op":"ping"})"))["ok"], true);

    // A second server on the same, live path must refuse.
    uv_loop_t other_loop;
    uv_loop_init(&other_loop);
    {
        ControlServer second(&other_loop, {}, [](auto&&...) {});
        try {
            second.listen(path_, 0660, -1);
            FAIL() << "stole a live socket";
        } catch (const std::runtime_error& error) {
            EXPECT_NE(std::string(error.what()).find("in use"), std::string::npos) << error.what();
        }
        uv_run(&other_loop, UV_RUN_DEFAULT);
    }
    EXPECT_EQ(uv_loop_close(&other_loop), 0);
    EXPECT_EQ(parse(client.call(R"({"op":"ping"})"))["ok"], true);
}

TEST_F(ControlServerTest, RefusesToReplaceAFileThatIsNotASocket) {
    { std::ofstream(path_) << "precious"; }
    uv_loop_t other_loop;
    uv_loop_init(&other_loop);
    {
        ControlServer server(&other_loop, {}, [](auto&&...) {});
        EXPECT_THROW(server.listen(path_, 0660, -1), std::runtime_error);
        uv_run(&other_loop, UV_RUN_DEFAULT);
    }
    EXPECT_EQ(uv_loop_close(&other_loop), 0);
    std::ifstream file(path_);
    std::string text;
    file >> text;
    EXPECT_EQ(text, "precious");
}

TEST_F(ControlServerTest, CloseRemovesTheSocketFile) {
    start();
    UnixClient client(path_);
    EXPECT_EQ(parse(client.call(R"({"op":"ping"})"))["ok"], true);
    EXPECT_EQ(loop_.stop([this](std::function<void()> done) { server_->close(std::move(done)); }), 0);
    server_.reset();
    EXPECT_FALSE(std::filesystem::exists(path_));
    EXPECT_TRUE(client.closed_by_peer(2s));
}

TEST_F(ControlServerTest, ThousandConcurrentClients) {
    ControlLimits limits;
    limits.max_connections = 2000;
    start(limits);
    std::vector<std::unique_ptr<UnixClient>> clients;
    for (int i = 0; i < 1000; ++i) {
        clients.push_back(std::make_unique<UnixClient>(path_));
        ASSERT_TRUE(clients.back()->connected()) << i;
        ASSERT_TRUE(clients.back()->send("{\"id\":" + std::to_string(i) + ",\"op\":\"ping\"}\n"));
    }
    for (int i = 0; i < 1000; ++i) {
        std::string line;
        ASSERT_TRUE(clients[i]->read_line(&line)) << i;
        EXPECT_EQ(parse(line)["id"], i);
    }
}

}  // namespace
}  // namespace tokend
