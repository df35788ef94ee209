//! Reading lots: what was recovered into them, what is left, what passports claim from them,
//! and their chain of events.

use reetrace_core::domain::{Gtin, Lgtin, LotNumber, Principal};
use uuid::Uuid;

use super::CustodyService;
use crate::domain::CustodyError;
use crate::domain::lot::{LotRow, LotView};

impl CustodyService {
    /// A lot, or why not.
    pub async fn load_lot(&self, lot_id: Uuid) -> Result<LotRow, CustodyError> {
        self.store
            .lot(lot_id)
            .await?
            .ok_or(CustodyError::NoLot(lot_id))
    }

    /// The lot that carries GTIN `gtin` and lot number `lot` (its LGTIN), if one does.
    pub async fn lot_by_identity(
        &self,
        gtin: &Gtin,
        lot: &LotNumber,
    ) -> Result<Option<Uuid>, CustodyError> {
        let epc = Lgtin::new(*gtin, lot.clone()).to_uri();
        let found = self.store.lots_named(&[epc], &[]).await?;
        Ok(found.first().map(|l| l.lot_id))
    }

    /// What `caller` sees of a lot: everything, but its claims only when it holds or held
    /// the lot or is an authority (or an admin); otherwise its own claims.
    pub async fn lot(&self, caller: &Principal, lot_id: Uuid) -> Result<LotView, CustodyError> {
        let lot = self.load_lot(lot_id).await?;
        let claims = self.store.claims_of_lot(lot_id).await?;
        let now = reetrace_core::domain::account::now();
        let events = self.chain(lot_id).await?;
        let mut view = LotView::of(caller, lot, &claims, events, now);
        view.names = self.org_names(view.named_orgs()).await?;
        Ok(view)
    }
}
