CREATE TABLE operation (
	id SERIAL NOT NULL, 
	code_insee VARCHAR(5) NOT NULL, 
	nom TEXT NOT NULL, 
	type_site VARCHAR(40) NOT NULL, 
	statut VARCHAR(20) NOT NULL, 
	validation VARCHAR(20) NOT NULL, 
	commentaire_validation TEXT, 
	date_fin_travaux DATE, 
	maitre_ouvrage TEXT, 
	description TEXT, 
	retour_experience TEXT, 
	contact TEXT, 
	cout_ht_eur FLOAT, 
	arbres_plantes INTEGER NOT NULL, 
	deconnexion_reseau BOOLEAN NOT NULL, 
	volume_stockage_m3 FLOAT, 
	parcelles TEXT NOT NULL, 
	surface_declaree_m2 FLOAT, 
	localisation_approximative BOOLEAN NOT NULL, 
	source TEXT, 
	cree_par TEXT, 
	cree_le TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	modifie_par TEXT, 
	modifie_le TIMESTAMP WITHOUT TIME ZONE, 
	version INTEGER NOT NULL, 
	supprimee BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_operation_version CHECK (version >= 1), 
	CONSTRAINT ck_operation_arbres CHECK (arbres_plantes >= 0)
);

CREATE INDEX ix_operation_supprimee ON operation (supprimee);

CREATE INDEX ix_operation_code_insee ON operation (code_insee);

CREATE TABLE utilisateur (
	id SERIAL NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	nom TEXT NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	communes TEXT NOT NULL, 
	mot_de_passe_hash TEXT, 
	actif BOOLEAN NOT NULL, 
	cree_le TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	echecs_connexion INTEGER NOT NULL, 
	bloque_jusqua TIMESTAMP WITHOUT TIME ZONE, 
	derniere_connexion TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (email)
);

CREATE TABLE journal (
	id SERIAL NOT NULL, 
	horodatage TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	auteur TEXT NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	table_cible VARCHAR(30) NOT NULL, 
	enregistrement_id INTEGER NOT NULL, 
	diff TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_journal_action CHECK (action IN ('creation', 'modification', 'suppression', 'restauration', 'validation'))
);

CREATE INDEX ix_journal_cible ON journal (table_cible, enregistrement_id);

CREATE INDEX ix_journal_horodatage ON journal (horodatage);

CREATE TABLE zone (
	id SERIAL NOT NULL, 
	operation_id INTEGER NOT NULL, 
	geometrie geometry(GEOMETRY,4326) NOT NULL, 
	revetement_avant VARCHAR(40) NOT NULL, 
	revetement_apres VARCHAR(40) NOT NULL, 
	surface_m2 FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_zone_surface CHECK (surface_m2 >= 0), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);

CREATE INDEX ix_zone_operation_id ON zone (operation_id);

CREATE INDEX IF NOT EXISTS ix_zone_geometrie ON zone USING gist (geometrie);

CREATE TABLE financement (
	id SERIAL NOT NULL, 
	operation_id INTEGER NOT NULL, 
	financeur TEXT NOT NULL, 
	montant_eur FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_financement_montant CHECK (montant_eur >= 0), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);

CREATE INDEX ix_financement_operation_id ON financement (operation_id);

CREATE TABLE photo (
	id SERIAL NOT NULL, 
	operation_id INTEGER NOT NULL, 
	moment VARCHAR(10) NOT NULL, 
	chemin TEXT NOT NULL, 
	legende TEXT, 
	ajoutee_le TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_photo_moment CHECK (moment IN ('avant', 'apres')), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);

CREATE INDEX ix_photo_operation_id ON photo (operation_id);
