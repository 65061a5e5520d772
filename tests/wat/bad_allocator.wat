;; A proxy-wasm module whose allocator hands back a pointer past the end of its
;; memory: the host must refuse to write there, with an error, when it hands over
;; the plugin configuration.
(module
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (i32.const 0x7fff0000))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    ;; The plugin configuration (buffer type 7), all of it; pointer at 0, size at 4.
    (drop (call $get_buffer_bytes
      (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 4)))
    (i32.const 1)))
