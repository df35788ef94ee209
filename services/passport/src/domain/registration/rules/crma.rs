//! The rules of the CRMA scope a registration declares: exemptions listed once and fitting
//! the product group, a rated output that is a power, the L category only for light means of
//! transport.

use super::super::{CrmaExemption, CrmaProductGroup, Product};
use super::Violations;
use crate::domain::crma;

/// The largest rated output taken, in kW (a 1 GW machine does not exist).
const MAX_RATED_OUTPUT_KW: f64 = 1_000_000.0;

pub(super) fn check_scope(v: &mut Violations, product: &Product) {
    if let Some(kw) = product.rated_output_kw {
        if !kw.is_finite() || kw <= 0.0 {
            v.add("/product/rated_output_kw", "must be more than 0 kW");
        } else if kw > MAX_RATED_OUTPUT_KW {
            v.add("/product/rated_output_kw", "must be at most 1000000 kW");
        }
    }
    let group = crma::product_group(product.crma_product_group, product.category).map(|(g, _)| g);
    let vehicle = matches!(
        group,
        Some(CrmaProductGroup::MotorVehicle | CrmaProductGroup::LightMeansOfTransport)
    );
    if product.l_category_vehicle && group != Some(CrmaProductGroup::LightMeansOfTransport) {
        v.add(
            "/product/l_category_vehicle",
            "an L-category vehicle (Regulation (EU) No 168/2013) is a light means of transport: \
             only for the product group light_means_of_transport",
        );
    }
    let most = CrmaExemption::ALL.len();
    if product.crma_exemptions.len() > most {
        // Some are listed twice; not compared pairwise (a long list would cost quadratic time).
        v.add(
            "/product/crma_exemptions",
            format!("at most {most} exemptions, each once"),
        );
        return;
    }
    for (i, exemption) in product.crma_exemptions.iter().enumerate() {
        let at = format!("/product/crma_exemptions/{i}");
        if product.crma_exemptions[..i].contains(exemption) {
            v.add(at, format!("{exemption} is listed twice"));
        } else if *exemption == CrmaExemption::TypeApprovedVehicle && !vehicle {
            v.add(
                at,
                "the type-approved vehicle exemption (art. 28(11)) is for the product groups \
                 motor_vehicle and light_means_of_transport",
            );
        }
    }
}
