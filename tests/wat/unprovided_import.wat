;; A proxy-wasm module that calls a host function the test host does not provide
;; (proxy_call_foreign_function is in the ABI; the harness leaves it out).
(module
  (import "env" "proxy_call_foreign_function"
    (func $foreign (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $foreign (i32.const 0) (i32.const 0) (i32.const 0)
                         (i32.const 0) (i32.const 0) (i32.const 0)))
    (i32.const 1)))
