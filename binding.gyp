{
  "targets": [
    {
      "target_name": "rcp_splice",
      "sources": ["native/splice.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-O3"],
      "cflags_cc!": ["-O3"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
