//! Writing a window screenshot as PNG.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use egui::ColorImage;

/// Write `image` to `path` as an 8-bit RGBA PNG.
pub(crate) fn write_png(path: &Path, image: &ColorImage) -> Result<(), String> {
    let err =
        |e: &dyn std::fmt::Display| format!("cannot write the screenshot {}: {e}", path.display());
    let file = File::create(path).map_err(|e| err(&e))?;
    let [w, h] = image.size;
    let (w, h) = (
        u32::try_from(w).map_err(|e| err(&e))?,
        u32::try_from(h).map_err(|e| err(&e))?,
    );
    let mut enc = png::Encoder::new(BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| err(&e))?;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    writer.write_image_data(&bytes).map_err(|e| err(&e))?;
    writer.finish().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_png_decodes_to_the_same_pixels() {
        let dir = std::env::temp_dir().join(format!("smq-dash-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.png");
        let image = ColorImage::new([3, 2], vec![egui::Color32::from_rgb(10, 20, 30); 6]);
        write_png(&path, &image).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..4], &[10, 20, 30, 255]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(write_png(&dir.join("missing/x.png"), &image).is_err());
    }
}
