//! The fuzz targets' checks (residual_explorer::model::io::fuzzing) run on stable Rust:
//! - `seeds_run_clean`: every committed seed under fuzz/seeds/ goes through its target;
//! - `mutated_seeds_never_crash` (ignored; `cargo test --release --test io_fuzz -- --ignored
//!   mutated`): mutated seeds for `FUZZ_ITERS` iterations per target (default 20000), the
//!   stable-Rust stand-in for cargo-fuzz;
//! - `write_fuzz_seeds` (ignored): regenerates the seeds.
//!
//! Also checks that a GPT-2 written in Hugging Face layout here loads back unchanged.

mod io_support;

use std::path::{Path, PathBuf};

use io_support::*;
use residual_explorer::model::io::LoadedModel;
use residual_explorer::model::io::fuzzing;
use residual_explorer::model::io::hf::{gpt2_params_from_bytes, parse_config};
use residual_explorer::model::io::llmc::llmc_bytes;
use residual_explorer::model::io::native::native_bytes;
use residual_explorer::model::io::tensors::StorageDtype;
use residual_explorer::model::tokenizer::{CharTokenizer, Tokenizer};
use residual_explorer::model::{InitOptions, ModelConfig, Params};
use safetensors::Dtype;

type Target = fn(&[u8]);
const TARGETS: [(&str, Target); 5] = [
    ("native", fuzzing::native),
    ("hf", fuzzing::hf),
    ("hf_family", fuzzing::hf_family),
    ("llmc", fuzzing::llmc),
    ("bpe", fuzzing::bpe),
];

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(seeds_dir().join(target))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn tiny_params() -> Params<f32> {
    let config = ModelConfig {
        d_model: 4,
        n_heads: 2,
        d_head: 2,
        n_layers: 1,
        d_mlp: 16,
        d_vocab: 6,
        n_ctx: 3,
        ..ModelConfig::lesson(6)
    };
    Params::init(&config, InitOptions { seed: 1, std: 0.5 }).unwrap()
}

fn prefixed(head: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut out = (head.len() as u16).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(rest);
    out
}

#[test]
fn a_gpt2_in_hugging_face_layout_loads_back_unchanged() {
    let params = tiny_params();
    let weights = safetensors_bytes(&hf_tensors_from_params(&params), Dtype::F32, None);
    let config = parse_config(hf_config_json(&params.config).as_bytes(), Path::new("c")).unwrap();
    // The loader records where the architecture came from; the shape is the model's own.
    let mut expected = params.clone();
    expected.config.family = "gpt2".into();
    assert_eq!(config, expected.config);
    let loaded = gpt2_params_from_bytes(&config, &weights, Path::new("w")).unwrap();
    assert_eq!(loaded, expected);
}

#[test]
#[ignore = "writes fuzz/seeds/; run by hand after a format change"]
fn write_fuzz_seeds() {
    let params = tiny_params();
    let model = |tokenizer| LoadedModel {
        params: params.clone(),
        tokenizer,
        name: "tiny".into(),
        source: None,
    };
    let chars = Tokenizer::Char(CharTokenizer::from_text("abc de"));
    let merges = [("a", "b"), ("Ġ", "c")];
    let bpe_json = tokenizer_json(&hand_vocab(&merges), &merges, false);
    let hf_weights = safetensors_bytes(&hf_tensors_from_params(&params), Dtype::F16, None);
    let hf_config = hf_config_json(&params.config);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "native/f32_ids",
            native_bytes(&model(Tokenizer::Ids { d_vocab: 6 }), StorageDtype::F32).unwrap(),
        ),
        (
            "native/f16_chars",
            native_bytes(&model(chars), StorageDtype::F16).unwrap(),
        ),
        ("hf/f16", prefixed(hf_config.as_bytes(), &hf_weights)),
        ("llmc/v3", llmc_bytes(&params).unwrap()),
        (
            "bpe/hello",
            prefixed(
                bpe_json.as_bytes(),
                "ab c, it's 42 é<|endoftext|>  x\n".as_bytes(),
            ),
        ),
    ];
    for (name, bytes) in files {
        let path = seeds_dir().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn seeds_run_clean() {
    let (native, hf, llmc) = (seeds("native"), seeds("hf"), seeds("llmc"));
    // The seeds are valid inputs, so they exercise the success paths.
    for seed in &native {
        assert!(
            residual_explorer::model::io::native::load_native_bytes(seed, Path::new("s")).is_ok()
        );
    }
    assert!(residual_explorer::model::io::llmc::load_llmc_bytes(&llmc[0], Path::new("s")).is_ok());
    let (head, rest) = hf[0].split_at(2 + u16::from_le_bytes([hf[0][0], hf[0][1]]) as usize);
    let config = parse_config(&head[2..], Path::new("c")).unwrap();
    assert!(gpt2_params_from_bytes(&config, rest, Path::new("w")).is_ok());
    for seed in seeds("hf_family") {
        let split = |data: &[u8]| {
            let n = u16::from_le_bytes([data[0], data[1]]) as usize;
            (data[2..2 + n].to_vec(), data[2 + n..].to_vec())
        };
        let (config, rest) = split(&seed);
        let (index, weights) = split(&rest);
        let label = Path::new("s");
        assert!(residual_explorer::model::io::hf_families::parse_index(&index, label).is_ok());
        let loaded = residual_explorer::model::io::hf_families::params_from_shards(
            &config,
            label,
            &[(label, &weights)],
        );
        assert!(loaded.is_ok(), "{:?}", loaded.err());
    }
    for (target, run) in TARGETS {
        for seed in seeds(target) {
            run(&seed);
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random edits: bit flips, byte overwrites with interesting values, 4-byte
/// integers (0, -1, i32::MAX, huge), insertions, deletions, truncation, duplication.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        let at = rng.below(len);
        match rng.below(8) {
            0 if len > 0 => data[at] ^= 1 << rng.below(8),
            1 if len > 0 => data[at] = [0, 1, 0x7f, 0x80, 0xff, b'"', b'{', b'9'][rng.below(8)],
            2 if len >= 4 => {
                let value = [0i32, -1, 1, i32::MAX, i32::MIN, 1 << 20, 3][rng.below(7)];
                let at = rng.below(len - 3);
                data[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            3 => data.insert(at.min(len), rng.next() as u8),
            4 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                data.drain(at..end);
            }
            5 => data.truncate(at),
            6 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                let chunk = data[at..end].to_vec();
                let to = rng.below(len);
                data.splice(to..to, chunk);
            }
            _ if len > 0 => data[at] = rng.next() as u8,
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

#[test]
#[ignore = "long; run with --release: cargo test --release --test io_fuzz -- --ignored mutated"]
fn mutated_seeds_never_crash() {
    let iterations: usize = std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x5eed);
    for (target, run) in TARGETS {
        let seeds = seeds(target);
        let start = std::time::Instant::now();
        for i in 0..iterations {
            let input = mutate(&seeds[i % seeds.len()], &mut rng);
            if std::panic::catch_unwind(|| run(&input)).is_err() {
                let path = std::env::temp_dir().join(format!("crash-{target}-{i}"));
                std::fs::write(&path, &input).unwrap();
                panic!("{target}: input {i} panicked; saved to {}", path.display());
            }
        }
        println!(
            "{target}: {iterations} mutated inputs, no crash ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
    }
}
