// SPDX-License-Identifier: MIT
// put_get: run a svc-dht node on your own libuv loop, join a network through one seed,
// store a value and read it back.
//   c++ put_get.cc $(pkg-config --cflags --libs svcdht) -o put_get
//   ./put_get 127.0.0.1:9444 "hello"
#include <svcdht/dht.h>

#include <cstdio>
#include <string>

struct App {
    std::unique_ptr<svcdht::Dht> dht;
    uv_timer_t tick{};  // polls for the join; gives up after 100 ticks (10 s)
    int ticks = 0, status = 1;
    std::string value;
};

static void finish(App* app, int status) {
    app->status = status;
    app->dht->stop();  // pending callbacks run now with Err::shutting_down
    uv_close(reinterpret_cast<uv_handle_t*>(&app->tick), nullptr);
}

static void on_get(const svcdht::DhtResult& r, void* user) {
    auto* app = static_cast<App*>(user);
    const bool same =
        r.err == svcdht::core::Err::ok && std::string(r.value.begin(), r.value.end()) == app->value;
    std::printf("get %s: %s\n", r.key.cid().c_str(),
                same ? "the same value" : svcdht::core::err_message(r.err));
    finish(app, same ? 0 : 1);
}

static void on_put(const svcdht::DhtResult& r, void* user) {
    auto* app = static_cast<App*>(user);
    std::printf("put %s: %s, stored on %u nodes\n", r.key.cid().c_str(),
                svcdht::core::err_message(r.err), r.stored_on);
    if (r.err != svcdht::core::Err::ok || r.stored_on == 0) return finish(app, 1);
    app->dht->get(r.key, on_get, app);
}

static void on_tick(uv_timer_t* t) {
    auto* app = static_cast<App*>(t->data);
    if (++app->ticks > 100) return finish(app, 1);
    if (!app->dht->ready()) return;
    uv_timer_stop(t);
    const auto* p = reinterpret_cast<const uint8_t*>(app->value.data());
    app->dht->put({p, app->value.size()}, on_put, app);
}

int main(int argc, char** argv) {
    if (argc < 2 || !svcdht::init()) {
        std::fprintf(stderr, "usage: put_get SEED_HOST:PORT [VALUE]\n");
        return 2;
    }
    App app;
    app.value = argc > 2 ? argv[2] : "hello from put_get";
    svcdht::DhtSettings s;
    s.listen = "127.0.0.1:0";
    s.bootstrap = {argv[1]};
    std::string err;
    uv_loop_t* loop = uv_default_loop();
    app.dht = svcdht::Dht::create(loop, s, svcdht::random_seed(), &err);
    if (!app.dht || !app.dht->start(&err)) {
        std::fprintf(stderr, "put_get: %s\n", err.c_str());
        return 1;
    }
    std::printf("node %s on port %u\n", app.dht->id().hex().c_str(), app.dht->port());
    uv_timer_init(loop, &app.tick);
    app.tick.data = &app;
    uv_timer_start(&app.tick, on_tick, 100, 100);
    uv_run(loop, UV_RUN_DEFAULT);
    return app.status;
}
