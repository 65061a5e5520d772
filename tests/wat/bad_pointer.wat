;; A proxy-wasm module that passes the host a message pointer outside its memory.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    ;; Level info, 16 bytes at 64 KiB - 8: half of them past the end.
    (drop (call $log (i32.const 2) (i32.const 65528) (i32.const 16)))
    (i32.const 1)))
