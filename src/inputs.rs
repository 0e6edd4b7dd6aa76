//! The data every step consumes, made once outside the timed region: like the
//! study, images of random integers 0..=255 as f32 and labels in 0..1000,
//! from a seeded generator. Several distinct batches are rotated so that no
//! cache keeps one batch warm.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How many distinct batches a benchmark rotates through.
pub const DISTINCT_BATCHES: usize = 3;

/// One batch on the host: `[batch, 3, size, size]` images and `[batch]` labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub batch: usize,
    pub size: usize,
    pub images: Vec<f32>,
    pub labels: Vec<u32>,
}

impl Batch {
    pub fn shape(&self) -> [usize; 4] {
        [self.batch, 3, self.size, self.size]
    }
}

/// [`DISTINCT_BATCHES`] batches drawn from `seed`; the same seed gives every
/// framework the same data.
pub fn batches(batch: usize, size: usize, classes: usize, seed: u64) -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..DISTINCT_BATCHES)
        .map(|_| Batch {
            batch,
            size,
            images: (0..batch * 3 * size * size)
                .map(|_| rng.random_range(0..=255u8) as f32)
                .collect(),
            labels: (0..batch)
                .map(|_| rng.random_range(0..classes as u32))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_seeded_distinct_and_in_range() {
        let a = batches(2, 8, 1000, 7);
        assert_eq!(a, batches(2, 8, 1000, 7));
        assert_ne!(a, batches(2, 8, 1000, 8));
        assert_eq!(a.len(), DISTINCT_BATCHES);
        assert_ne!(a[0].images, a[1].images);
        for b in &a {
            assert_eq!(b.images.len(), 2 * 3 * 8 * 8);
            assert!(b
                .images
                .iter()
                .all(|&v| (0.0..=255.0).contains(&v) && v.fract() == 0.0));
            assert!(b.labels.iter().all(|&l| l < 1000));
        }
        // Integers over the whole range, not a constant.
        let max = a[0].images.iter().cloned().fold(0.0, f32::max);
        assert!(max > 200.0, "{max}");
    }
}
