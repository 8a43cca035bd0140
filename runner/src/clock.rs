//! The policy's clock, for `check --now`.
//!
//! The guest reads the time through WASI (`wasi_snapshot_preview1`
//! `clock_time_get`), which wasmtime-provider 2.25 answers from the host's
//! clock: its WASI context is built inside the provider, with no way to give
//! it another clock. So the module itself is changed: `fixed_clock`
//! re-encodes it with that import replaced by a function of its own that
//! writes a fixed time (every clock id reads the same instant: the policy
//! only asks the wall clock). Nothing else changes: the other imports, every
//! function, export and data segment are kept, function indices shifted.
//!
//! `now` is the same time for what the runner itself computes (the fake
//! registry's `age: 30d` image configs).

use std::sync::OnceLock;

static FIXED: OnceLock<i64> = OnceLock::new();

/// Fixes the runner's clock (`--now`), once.
pub fn set(unix_seconds: i64) {
    let _ = FIXED.set(unix_seconds);
}

/// Now, in Unix seconds: `--now` when given, else this machine's clock.
pub fn now() -> i64 {
    FIXED.get().copied().unwrap_or_else(registry_guard::rules::image_config::now)
}

#[cfg(feature = "host")]
pub use rewrite::fixed_clock;

#[cfg(feature = "host")]
mod rewrite {
    use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
    use wasm_encoder::{CodeSection, FunctionSection, ImportSection, Instruction, MemArg, MemArgTarget};
    use wasmparser::{Parser, Payload, TypeRef};

    const WASI: &str = "wasi_snapshot_preview1";
    const CLOCK: &str = "clock_time_get";

    /// The module `wasm` with WASI's clock reading `unix_seconds`; a module
    /// that does not import the clock is returned as it is.
    pub fn fixed_clock(wasm: &[u8], unix_seconds: i64) -> Result<Vec<u8>, String> {
        // The clock's place among the imported functions, its type, and
        // how many functions the module has.
        let (mut imported, mut defined, mut clock) = (0u32, 0u32, None);
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| e.to_string())? {
                Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        let import = import.map_err(|e| e.to_string())?;
                        if let TypeRef::Func(ty) = import.ty {
                            if import.module == WASI && import.name == CLOCK {
                                clock = Some((imported, ty));
                            }
                            imported += 1;
                        }
                    }
                }
                Payload::FunctionSection(section) => defined += section.count(),
                _ => {}
            }
        }
        let Some((index, ty)) = clock else { return Ok(wasm.to_vec()) };
        let nanoseconds = unix_seconds.checked_mul(1_000_000_000).ok_or("the time is out of range")?;
        let mut clock = FixedClock { index, ty, last: imported - 1 + defined, nanoseconds };
        let mut module = wasm_encoder::Module::new();
        clock.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| format!("{e:?}"))?;
        let bytes = module.finish();
        wasmparser::Validator::new()
            .validate_all(&bytes)
            .map_err(|e| format!("the re-encoded module is invalid: {e}"))?;
        Ok(bytes)
    }

    struct FixedClock {
        /// The clock import's function index, and its type.
        index: u32,
        ty: u32,
        /// The index of the function that replaces it: the last one.
        last: u32,
        nanoseconds: i64,
    }

    impl Reencode for FixedClock {
        type Error = std::convert::Infallible;

        fn function_index(&mut self, func: u32) -> Result<u32, Error<Self::Error>> {
            Ok(match func {
                f if f == self.index => self.last,
                f if f > self.index => f - 1,
                f => f,
            })
        }

        fn parse_import_section(
            &mut self,
            imports: &mut ImportSection,
            section: wasmparser::ImportSectionReader<'_>,
        ) -> Result<(), Error<Self::Error>> {
            for import in section.into_imports() {
                let import = import?;
                if import.module == WASI && import.name == CLOCK {
                    continue;
                }
                imports.import(import.module, import.name, RoundtripReencoder.entity_type(import.ty)?);
            }
            Ok(())
        }

        fn parse_function_section(
            &mut self,
            functions: &mut FunctionSection,
            section: wasmparser::FunctionSectionReader<'_>,
        ) -> Result<(), Error<Self::Error>> {
            utils::parse_function_section(self, functions, section)?;
            functions.function(self.ty);
            Ok(())
        }

        fn parse_code_section(
            &mut self,
            code: &mut CodeSection,
            section: wasmparser::CodeSectionReader<'_>,
        ) -> Result<(), Error<Self::Error>> {
            utils::parse_code_section(self, code, section)?;
            // (clock id: i32, precision: i64, *time: i32) -> errno: *time = nanoseconds; 0.
            let mut f = wasm_encoder::Function::new([]);
            f.instruction(&Instruction::LocalGet(2));
            f.instruction(&Instruction::I64Const(self.nanoseconds));
            f.instruction(&Instruction::I64Store(MemArg {
                offset: 0,
                align: 3,
                target: MemArgTarget::Memory(0),
                ordering: None,
            }));
            f.instruction(&Instruction::I32Const(0));
            f.instruction(&Instruction::End);
            code.function(&f);
            Ok(())
        }
    }
}
