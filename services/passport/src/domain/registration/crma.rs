//! What a registration declares about the Critical Raw Materials Act's scope (Regulation (EU)
//! 2024/1252, art. 28 and 29): the product group of art. 28(1) and the exemptions that apply.
//! The rules over them are in `domain::crma`.

use super::vocabulary::vocabulary;

vocabulary! {
    /// The product groups of CRMA art. 28(1), whose products bear the permanent-magnet label.
    pub enum CrmaProductGroup("CRMA product group") {
        MriDevice = "mri_device",
        WindEnergyGenerator = "wind_energy_generator",
        IndustrialRobot = "industrial_robot",
        MotorVehicle = "motor_vehicle",
        /// L-category vehicles, e-bikes, e-scooters.
        LightMeansOfTransport = "light_means_of_transport",
        CoolingGenerator = "cooling_generator",
        HeatPump = "heat_pump",
        /// Also where the motor is integrated in another product; from 0.12 kW rated output
        /// (art. 2(47)).
        ElectricMotor = "electric_motor",
        AutomaticWashingMachine = "automatic_washing_machine",
        TumbleDrier = "tumble_drier",
        Microwave = "microwave",
        VacuumCleaner = "vacuum_cleaner",
        Dishwasher = "dishwasher",
    }
}

vocabulary! {
    /// An exemption from CRMA art. 28 the manufacturer declares.
    pub enum CrmaExemption("CRMA exemption") {
        /// Defence products (art. 28(9)).
        Defence = "defence",
        /// Space products (art. 28(9)).
        Space = "space",
        /// A vehicle of the type-approval carve-outs of art. 28(11); only for `motor_vehicle`
        /// and `light_means_of_transport`.
        TypeApprovedVehicle = "type_approved_vehicle",
    }
}
