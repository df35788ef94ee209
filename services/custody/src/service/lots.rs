//! Reading lots: what was recovered into them, what is left, what passports claim from them,
//! and their chain of events.

use reetrace_core::domain::Principal;
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

    /// What `caller` sees of a lot: everything, but its claims only when it holds or held
    /// the lot or is an authority (or an admin); otherwise its own claims.
    pub async fn lot(&self, caller: &Principal, lot_id: Uuid) -> Result<LotView, CustodyError> {
        let lot = self.load_lot(lot_id).await?;
        let claims = self.store.claims_of_lot(lot_id).await?;
        let now = reetrace_core::domain::account::now();
        let events = self.chain(lot_id).await?;
        Ok(LotView::of(caller, lot, &claims, events, now))
    }
}
