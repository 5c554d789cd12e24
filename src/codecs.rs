//! `zstd` for every array the program opens, with its compression and decompression contexts kept
//! per thread between chunks. zarrs's own `zstd` codec creates (and zeroes) a fresh ~1 MB context
//! for every chunk it encodes: for a full tile's 256² inner chunks that was about 4 % of a
//! conversion's CPU time. The bytes are zstd's with the same parameters (level, checksum), so
//! they do not change: `tests/digests` holds them. Metadata and partial decoding are those of
//! zarrs's codec, to which everything but the two bulk calls is left.
//!
//! `blosc` likewise, decoding large chunks with several threads: zarrs's codec decodes each chunk
//! on one thread, so a Zarr v2 product's 10980² arrays stored as one chunk (241 MB of uint16) were
//! decoded by one core while the other waited for it. Decoding is the same whatever the thread
//! count; encoding is left to zarrs's codec.
//!
//! All three (`gzip` too) decode a chunk into no more than its array's chunk holds: zarrs's
//! codecs allocate what a zstd frame or Blosc header declares, or read a zstd/gzip stream to its
//! end, so a 16-byte chunk could abort the program on a terabyte allocation.
//!
//! Registered at run time ([`register`], called when a hierarchy is opened or an output store is
//! created), which takes precedence over zarrs's compile-time plugins. Zarr v2 arrays reach them through
//! their metadata converted to v3 ([`crate::hierarchy::Hierarchy::open_array`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Once};

use zarrs::array::ArrayBytesRaw;
use zarrs::array::codec::api::{
    BytesPartialDecoderTraits, BytesPartialEncoderTraits, BytesRepresentation,
    BytesToBytesCodecTraits, Codec, CodecError, CodecMetadataOptions, CodecOptions,
    CodecRuntimePluginV2, CodecRuntimePluginV3, CodecTraits, PartialDecoderCapability,
    PartialEncoderCapability, RecommendedConcurrency,
};
use zarrs::array::codec::{
    BloscCodec, GzipCodec, ZstdCodec, ZstdCodecConfiguration, ZstdCodecConfigurationV1,
    blosc_decompress_bytes, blosc_validate,
};
use zarrs::metadata::Configuration;
use zarrs::metadata::v2::MetadataV2;
use zarrs::metadata::v3::MetadataV3;
use zarrs::plugin::{PluginCreateError, ZarrVersion};

/// `CodecTraits` of a codec that wraps zarrs's (`self.inner`): all of it is the inner codec's.
macro_rules! delegate_codec_traits {
    ($t:ty) => {
        impl CodecTraits for $t {
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }

            fn configuration(
                &self,
                version: ZarrVersion,
                options: &CodecMetadataOptions,
            ) -> Option<Configuration> {
                self.inner.configuration(version, options)
            }

            fn partial_decoder_capability(&self) -> PartialDecoderCapability {
                self.inner.partial_decoder_capability()
            }

            fn partial_encoder_capability(&self) -> PartialEncoderCapability {
                self.inner.partial_encoder_capability()
            }
        }
    };
}

/// The `BytesToBytesCodecTraits` methods of such a codec other than `encode` and `decode`: the
/// inner codec's. Named extras delegate more: `encode`, and `partial` (partial decoding and
/// encoding; without it they are the trait's defaults, which go through this codec's own
/// `decode` and its size checks).
macro_rules! delegate_bytes_to_bytes {
    ($($extra:ident),+) => {
        delegate_bytes_to_bytes!();
        $(delegate_bytes_to_bytes!(@ $extra);)+
    };
    (@ encode) => {
        fn encode<'a>(
            &self,
            decoded_value: ArrayBytesRaw<'a>,
            options: &CodecOptions,
        ) -> Result<ArrayBytesRaw<'a>, CodecError> {
            self.inner.encode(decoded_value, options)
        }
    };
    (@ partial) => {
        fn partial_decoder(
            self: Arc<Self>,
            input_handle: Arc<dyn BytesPartialDecoderTraits>,
            decoded_representation: &BytesRepresentation,
            options: &CodecOptions,
        ) -> Result<Arc<dyn BytesPartialDecoderTraits>, CodecError> {
            self.inner
                .clone()
                .partial_decoder(input_handle, decoded_representation, options)
        }

        fn partial_encoder(
            self: Arc<Self>,
            input_output_handle: Arc<dyn BytesPartialEncoderTraits>,
            decoded_representation: &BytesRepresentation,
            options: &CodecOptions,
        ) -> Result<Arc<dyn BytesPartialEncoderTraits>, CodecError> {
            self.inner
                .clone()
                .partial_encoder(input_output_handle, decoded_representation, options)
        }
    };
    () => {
        fn into_dyn(self: Arc<Self>) -> Arc<dyn BytesToBytesCodecTraits> {
            self as Arc<dyn BytesToBytesCodecTraits>
        }

        fn recommended_concurrency(
            &self,
            decoded_representation: &BytesRepresentation,
        ) -> Result<RecommendedConcurrency, CodecError> {
            self.inner.recommended_concurrency(decoded_representation)
        }

        fn encoded_representation(
            &self,
            decoded_representation: &BytesRepresentation,
        ) -> BytesRepresentation {
            self.inner.encoded_representation(decoded_representation)
        }
    };
}

/// The most bytes a chunk whose decoded size its array does not fix (variable-size data) may
/// decode to.
pub const MAX_UNSIZED_CHUNK_BYTES: u64 = 1 << 30;

/// The most bytes a chunk may decode to: its array's chunk size, else
/// [`MAX_UNSIZED_CHUNK_BYTES`].
fn decoded_limit(decoded_representation: &BytesRepresentation) -> u64 {
    decoded_representation
        .size()
        .unwrap_or(MAX_UNSIZED_CHUNK_BYTES)
}

/// A compressed chunk that claims (or would grow to) more than its array's chunk holds: refused
/// before anything of that size is allocated.
fn oversized(codec: &str, declared: Option<u64>, limit: u64) -> CodecError {
    CodecError::Other(match declared {
        Some(n) => format!(
            "{codec} data declares {n} decoded bytes, more than the {limit} of the array's chunk"
        ),
        None => format!("{codec} data decodes to more than the {limit} bytes of the array's chunk"),
    })
}

/// Read `reader` to its end, or fail once it gives more than `limit` bytes.
fn read_bounded(
    codec: &str,
    reader: impl std::io::Read,
    limit: u64,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(reader, limit.saturating_add(1)),
        &mut out,
    )?;
    if out.len() as u64 > limit {
        return Err(oversized(codec, None, limit));
    }
    Ok(out)
}

/// zarrs's `zstd` codec with per-thread contexts for its bulk encode and decode.
#[derive(Debug, Clone)]
pub struct ReusedContextZstd {
    level: i32,
    checksum: bool,
    inner: Arc<ZstdCodec>,
}

zarrs::plugin::impl_extension_aliases!(ReusedContextZstd, v3: "zstd", v2: "zstd");

impl ReusedContextZstd {
    /// The codec at `level`, with or without a content checksum.
    pub fn new(level: i32, checksum: bool) -> Self {
        ReusedContextZstd {
            level,
            checksum,
            inner: Arc::new(ZstdCodec::new(level, checksum)),
        }
    }
}

thread_local! {
    /// This thread's compressor and the (level, checksum) it is set to.
    static COMPRESSOR: RefCell<Option<(i32, bool, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

impl ReusedContextZstd {
    fn compress(&self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        COMPRESSOR.with(|c| {
            let mut slot = c.try_borrow_mut().map_err(std::io::Error::other)?;
            let fresh =
                !matches!(&*slot, Some((l, k, _)) if *l == self.level && *k == self.checksum);
            if fresh {
                let mut z = zstd::bulk::Compressor::new(self.level)?;
                z.include_checksum(self.checksum)?;
                *slot = Some((self.level, self.checksum, z));
            }
            match &mut *slot {
                Some((_, _, z)) => z.compress(data),
                None => Err(std::io::Error::other("no zstd compressor")),
            }
        })
    }

    fn decompress(&self, data: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
        DECOMPRESSOR.with(|d| {
            let mut slot = d.try_borrow_mut().map_err(std::io::Error::other)?;
            if slot.is_none() {
                *slot = Some(zstd::bulk::Decompressor::new()?);
            }
            match &mut *slot {
                Some(z) => z.decompress(data, capacity),
                None => Err(std::io::Error::other("no zstd decompressor")),
            }
        })
    }
}

delegate_codec_traits!(ReusedContextZstd);

impl BytesToBytesCodecTraits for ReusedContextZstd {
    delegate_bytes_to_bytes!();

    fn encode<'a>(
        &self,
        decoded_value: ArrayBytesRaw<'a>,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        Ok(Cow::Owned(self.compress(&decoded_value)?))
    }

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        let limit = decoded_limit(decoded_representation);
        // The frames' declared content sizes, checked against the chunk's before a buffer of
        // that size exists (a 16-byte frame can declare a terabyte).
        if let Ok(Some(declared)) = zstd::zstd_safe::find_decompressed_size(&encoded_value)
            && declared > limit
        {
            return Err(oversized("zstd", Some(declared), limit));
        }
        match zstd::bulk::Decompressor::upper_bound(&encoded_value) {
            // zstd's bound (the declared sizes, or 128 KiB per block of a frame that declares
            // none), never more than the chunk's size: larger output is an error, not a realloc.
            Some(bound) => {
                let capacity = usize::try_from((bound as u64).min(limit))
                    .map_err(|_| oversized("zstd", Some(bound as u64), limit))?;
                self.decompress(&encoded_value, capacity)
                    .map(Cow::Owned)
                    .map_err(|e| {
                        if bound as u64 > limit {
                            oversized("zstd", None, limit)
                        } else {
                            e.into()
                        }
                    })
            }
            None => read_bounded(
                "zstd",
                zstd::stream::read::Decoder::new(&encoded_value[..])?,
                limit,
            )
            .map(Cow::Owned),
        }
    }
}

/// zarrs's `blosc` codec, with chunks of at least [`THREADED_BLOSC_BYTES`] decoded on
/// [`BLOSC_DECODE_THREADS`] threads.
#[derive(Debug, Clone)]
pub struct ThreadedBloscDecode {
    inner: Arc<dyn BytesToBytesCodecTraits>,
}

zarrs::plugin::impl_extension_aliases!(ThreadedBloscDecode, v3: "blosc", v2: "blosc");

/// Decoded chunk size from which Blosc decodes on several threads.
pub const THREADED_BLOSC_BYTES: usize = 4 << 20;

/// Threads of one large Blosc decode (at most the rayon pool's).
pub const BLOSC_DECODE_THREADS: usize = 4;

delegate_codec_traits!(ThreadedBloscDecode);

impl BytesToBytesCodecTraits for ThreadedBloscDecode {
    delegate_bytes_to_bytes!(encode, partial);

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        let limit = decoded_limit(decoded_representation);
        match blosc_validate(&encoded_value) {
            // The header's decoded size (up to 2 GiB), checked before zarrs's codec allocates it.
            Some(size) if size as u64 > limit => Err(oversized("blosc", Some(size as u64), limit)),
            Some(size) if size >= THREADED_BLOSC_BYTES => {
                // The pool's size, as configured (no system query per chunk).
                let threads = rayon::current_num_threads().clamp(1, BLOSC_DECODE_THREADS);
                blosc_decompress_bytes(&encoded_value, size, threads)
                    .map(Cow::Owned)
                    .map_err(|e| CodecError::Other(e.to_string()))
            }
            _ => self
                .inner
                .decode(encoded_value, decoded_representation, options),
        }
    }
}

/// zarrs's `gzip` codec, decoding no more than the array's chunk holds: zarrs's reads the whole
/// stream, and deflate expands up to about a thousand times (a 10 MB chunk of zeros can decode to
/// 10 GB).
#[derive(Debug, Clone)]
pub struct BoundedGzip {
    inner: Arc<dyn BytesToBytesCodecTraits>,
}

zarrs::plugin::impl_extension_aliases!(BoundedGzip, v3: "gzip", v2: "gzip");

delegate_codec_traits!(BoundedGzip);

impl BytesToBytesCodecTraits for BoundedGzip {
    delegate_bytes_to_bytes!(encode);

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        read_bounded(
            "gzip",
            flate2::read::GzDecoder::new(&encoded_value[..]),
            decoded_limit(decoded_representation),
        )
        .map(Cow::Owned)
    }
}

fn bounded_gzip(inner: Codec) -> Codec {
    match inner {
        Codec::BytesToBytes(inner) => Codec::BytesToBytes(Arc::new(BoundedGzip { inner })),
        other => other,
    }
}

fn create_gzip_v3(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
    <GzipCodec as zarrs::array::codec::api::CodecTraitsV3>::create(metadata).map(bounded_gzip)
}

fn create_gzip_v2(metadata: &MetadataV2) -> Result<Codec, PluginCreateError> {
    <GzipCodec as zarrs::array::codec::api::CodecTraitsV2>::create(metadata).map(bounded_gzip)
}

fn create_blosc_v3(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
    match <BloscCodec as zarrs::array::codec::api::CodecTraitsV3>::create(metadata)? {
        Codec::BytesToBytes(inner) => {
            Ok(Codec::BytesToBytes(Arc::new(ThreadedBloscDecode { inner })))
        }
        other => Ok(other),
    }
}

fn create_v3(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
    let c: ZstdCodecConfigurationV1 = metadata.to_typed_configuration()?;
    Ok(Codec::BytesToBytes(Arc::new(ReusedContextZstd::new(
        c.level.into(),
        c.checksum,
    ))))
}

fn create_v2(metadata: &MetadataV2) -> Result<Codec, PluginCreateError> {
    let c: ZstdCodecConfiguration = metadata.to_typed_configuration()?;
    let (level, checksum) = match c {
        ZstdCodecConfiguration::V1(c) => (c.level.into(), c.checksum),
        ZstdCodecConfiguration::Numcodecs(c) => (c.level.into(), false),
        _ => {
            return Err(PluginCreateError::Other(
                "this zstd codec configuration variant is unsupported".into(),
            ));
        }
    };
    Ok(Codec::BytesToBytes(Arc::new(ReusedContextZstd::new(
        level, checksum,
    ))))
}

/// Put [`ReusedContextZstd`], [`ThreadedBloscDecode`] and [`BoundedGzip`] in front of zarrs's
/// `zstd`, `blosc` and `gzip` (once per process; later calls do nothing).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        type V3 = fn(&MetadataV3) -> Result<Codec, PluginCreateError>;
        type V2 = fn(&MetadataV2) -> Result<Codec, PluginCreateError>;
        let v3: [(&'static str, V3); 3] = [
            ("zstd", create_v3),
            ("blosc", create_blosc_v3),
            ("gzip", create_gzip_v3),
        ];
        let v2: [(&'static str, V2); 2] = [("zstd", create_v2), ("gzip", create_gzip_v2)];
        for (id, create) in v3 {
            zarrs::array::codec::api::register_codec_v3(CodecRuntimePluginV3::new(
                move |name| name == id,
                create,
            ));
        }
        for (id, create) in v2 {
            zarrs::array::codec::api::register_codec_v2(CodecRuntimePluginV2::new(
                move |name| name == id,
                create,
            ));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of zarrs's codec, chunk after chunk on one thread (the context reused, its level
    /// changed in between), and back.
    #[test]
    fn same_bytes_as_zarrs_zstd_with_a_reused_context() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| ((i * 7919) % 1021).to_le_bytes())
            .collect();
        let opts = CodecOptions::default();
        let repr = BytesRepresentation::FixedSize(data.len() as u64);
        for (level, checksum) in [(3, false), (3, false), (1, true), (5, false), (3, false)] {
            let ours = ReusedContextZstd::new(level, checksum);
            let theirs = ZstdCodec::new(level, checksum);
            let a = ours.encode(Cow::Borrowed(&data), &opts).unwrap();
            let b = theirs.encode(Cow::Borrowed(&data), &opts).unwrap();
            assert_eq!(a, b, "level {level}, checksum {checksum}");
            assert_eq!(ours.decode(a, &repr, &opts).unwrap().as_ref(), &data[..]);
        }
    }

    /// A chunk over the threaded size decodes to the same bytes as zarrs's codec gives.
    #[test]
    fn threaded_blosc_decodes_what_zarrs_encodes() {
        register();
        let data: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| ((i / 7) % 4099).to_le_bytes())
            .collect();
        assert!(data.len() >= THREADED_BLOSC_BYTES);
        let m: MetadataV3 = serde_json::from_value(serde_json::json!({"name": "blosc",
            "configuration": {"typesize": 4, "cname": "zstd", "clevel": 3, "shuffle": "bitshuffle", "blocksize": 0}}))
        .unwrap();
        let Codec::BytesToBytes(ours) = Codec::from_metadata(&m).unwrap() else {
            panic!("not a bytes-to-bytes codec")
        };
        assert!(ours.as_any().is::<ThreadedBloscDecode>());
        let Codec::BytesToBytes(theirs) =
            <BloscCodec as zarrs::array::codec::api::CodecTraitsV3>::create(&m).unwrap()
        else {
            panic!("not a bytes-to-bytes codec")
        };
        let opts = CodecOptions::default();
        let repr = BytesRepresentation::FixedSize(data.len() as u64);
        let enc = theirs.encode(Cow::Borrowed(&data), &opts).unwrap();
        assert_eq!(ours.encode(Cow::Borrowed(&data), &opts).unwrap(), enc);
        assert_eq!(ours.decode(enc, &repr, &opts).unwrap().as_ref(), &data[..]);
    }

    fn codec(m: serde_json::Value) -> Arc<dyn BytesToBytesCodecTraits> {
        register();
        let m: MetadataV3 = serde_json::from_value(m).unwrap();
        match Codec::from_metadata(&m).unwrap() {
            Codec::BytesToBytes(c) => c,
            _ => panic!("not a bytes-to-bytes codec"),
        }
    }

    /// Hostile chunks are refused before a buffer of their claimed size exists: a 16-byte zstd
    /// frame declaring 2⁴⁰ bytes, a frame without a declared size that decodes past the chunk,
    /// a Blosc header declaring 2 GB, a gzip stream of a million zeros for a 100-byte chunk.
    #[test]
    fn chunks_larger_than_their_array_s_chunks_are_errors_not_allocations() {
        let opts = CodecOptions::default();
        let small = BytesRepresentation::FixedSize(100);
        let msg = |r: Result<ArrayBytesRaw<'_>, CodecError>| match r {
            Err(e) => e.to_string(),
            Ok(v) => panic!("decoded {} bytes", v.len()),
        };
        let encode = |c: &Arc<dyn BytesToBytesCodecTraits>, data: &[u8]| {
            c.encode(Cow::Borrowed(data), &opts).unwrap().into_owned()
        };
        let decode =
            |c: &Arc<dyn BytesToBytesCodecTraits>, data: &[u8], r: &BytesRepresentation| {
                c.decode(Cow::Borrowed(data), r, &opts)
                    .unwrap()
                    .into_owned()
            };
        // The error of decoding `data` for a 100-byte chunk.
        let refused = |c: &Arc<dyn BytesToBytesCodecTraits>, data: &[u8]| {
            msg(c.decode(Cow::Borrowed(data), &small, &opts))
        };
        let zstd = codec(serde_json::json!({"name": "zstd",
            "configuration": {"level": 3, "checksum": false}}));
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        frame.extend((1u64 << 40).to_le_bytes());
        frame.extend([1, 0, 0]);
        let e = refused(&zstd, &frame);
        assert!(
            e.contains("declares 1099511627776 decoded bytes, more than the 100"),
            "{e}"
        );
        // A streamed frame (no content size) of 1000 bytes, for a chunk of 100 and of 1000.
        let mut streamed = Vec::new();
        {
            let mut w = zstd::stream::write::Encoder::new(&mut streamed, 3).unwrap();
            std::io::Write::write_all(&mut w, &[7u8; 1000]).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(
            zstd::zstd_safe::find_decompressed_size(&streamed).ok(),
            Some(None),
            "no declared size"
        );
        let e = refused(&zstd, &streamed);
        assert!(e.contains("decodes to more than the 100 bytes"), "{e}");
        let fits = BytesRepresentation::FixedSize(1000);
        assert_eq!(decode(&zstd, &streamed, &fits), [7u8; 1000]);

        let blosc = codec(
            serde_json::json!({"name": "blosc", "configuration": {"typesize": 2,
            "cname": "zstd", "clevel": 3, "shuffle": "shuffle", "blocksize": 0}}),
        );
        let data = vec![3u8; 5000];
        let enc = encode(&blosc, &data);
        let mut hostile = enc.clone();
        hostile[4..8].copy_from_slice(&2_000_000_000i32.to_le_bytes());
        let e = refused(&blosc, &hostile);
        assert!(e.contains("declares 2000000000 decoded bytes"), "{e}");
        let e = refused(&blosc, &enc);
        assert!(
            e.contains("declares 5000 decoded bytes, more than the 100"),
            "{e}"
        );
        let whole = BytesRepresentation::FixedSize(5000);
        assert_eq!(decode(&blosc, &enc, &whole), data);

        let gzip = codec(serde_json::json!({"name": "gzip", "configuration": {"level": 1}}));
        assert!(gzip.as_any().is::<BoundedGzip>());
        let zeros = vec![0u8; 1_000_000];
        let bomb = encode(&gzip, &zeros);
        assert!(bomb.len() < 10_000, "{}", bomb.len());
        let e = refused(&gzip, &bomb);
        assert!(
            e.contains("gzip data decodes to more than the 100 bytes"),
            "{e}"
        );
        let all = BytesRepresentation::FixedSize(1_000_000);
        assert_eq!(decode(&gzip, &bomb, &all), zeros);
        // Without a size of its own (variable-size data) the bound is MAX_UNSIZED_CHUNK_BYTES.
        assert_eq!(
            decoded_limit(&BytesRepresentation::UnboundedSize),
            MAX_UNSIZED_CHUNK_BYTES
        );
    }

    #[test]
    fn registered_in_front_of_the_built_in_codec() {
        register();
        let m: MetadataV3 = serde_json::from_value(
            serde_json::json!({"name": "zstd", "configuration": {"level": 3, "checksum": false}}),
        )
        .unwrap();
        match Codec::from_metadata(&m).unwrap() {
            Codec::BytesToBytes(c) => assert!(c.as_any().is::<ReusedContextZstd>()),
            _ => panic!("not a bytes-to-bytes codec"),
        }
    }
}
