BEGIN TRANSACTION;
CREATE TABLE financement (
	id INTEGER NOT NULL, 
	operation_id INTEGER NOT NULL, 
	financeur TEXT NOT NULL, 
	montant_eur FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_financement_montant CHECK (montant_eur >= 0), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);
INSERT INTO "financement" VALUES(1,1,'Agence de l''eau Rhône Méditerranée Corse',50000.0);
INSERT INTO "financement" VALUES(2,1,'Région Occitanie',20000.5);
CREATE TABLE journal (
	id INTEGER NOT NULL, 
	horodatage DATETIME NOT NULL, 
	auteur TEXT NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	table_cible VARCHAR(30) NOT NULL, 
	enregistrement_id INTEGER NOT NULL, 
	diff TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_journal_action CHECK (action IN ('creation', 'modification', 'suppression', 'restauration', 'validation'))
);
INSERT INTO "journal" VALUES(1,'2026-12-02 01:43:15.934643','installation','creation','utilisateur',1,'{"email": "admin@bassin.fr", "nom": "Alex Admin", "role": "administrateur", "communes": [], "actif": true}');
INSERT INTO "journal" VALUES(2,'2026-12-02 01:43:16.509646','admin@bassin.fr','creation','utilisateur',2,'{"email": "ref@sete.fr", "nom": "Camille Référente", "role": "referent", "communes": ["34301", "34108"], "actif": true}');
INSERT INTO "journal" VALUES(3,'2026-12-02 01:43:16.512787','admin@bassin.fr','creation','utilisateur',3,'{"email": "financeur@agence.fr", "nom": "Dominique Financeur", "role": "financeur", "communes": [], "actif": true}');
INSERT INTO "journal" VALUES(4,'2026-12-02 01:43:16.520684','systeme','modification','utilisateur',2,'{"echecs_connexion": [0, 1]}');
INSERT INTO "journal" VALUES(5,'2026-12-02 01:43:16.522711','systeme','modification','utilisateur',3,'{"echecs_connexion": [0, 1]}');
INSERT INTO "journal" VALUES(6,'2026-12-02 01:43:16.523963','systeme','modification','utilisateur',3,'{"echecs_connexion": [1, 2]}');
INSERT INTO "journal" VALUES(7,'2026-12-02 01:43:16.525416','systeme','modification','utilisateur',3,'{"echecs_connexion": [2, 3]}');
INSERT INTO "journal" VALUES(8,'2026-12-02 01:43:16.526661','systeme','modification','utilisateur',3,'{"echecs_connexion": [3, 4]}');
INSERT INTO "journal" VALUES(9,'2026-12-02 01:43:16.532071','systeme','modification','utilisateur',3,'{"echecs_connexion": [4, 5], "bloque_jusqua": [null, "2024-03-02T10:15:00"]}');
INSERT INTO "journal" VALUES(10,'2026-12-02 01:43:16.539255','admin@bassin.fr','modification','utilisateur',1,'{"derniere_connexion": [null, "2024-03-03T08:30:00"]}');
INSERT INTO "journal" VALUES(11,'2026-12-02 01:43:16.563488','ref@sete.fr','creation','operation',1,'{"code_insee": "34301", "nom": "Cour de l''école Jules-Ferry", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": "2023-06-30", "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": 120000.0, "arbres_plantes": 4, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0, "localisation_approximative": false, "source": "https://example.org/cour", "zones": [{"revetement_avant": "enrobe", "revetement_apres": "pelouse", "surface_m2": 10000.0, "geometrie": "POLYGON ((3.61805634 43.39235986, 3.61806599 43.39325946, 3.61683238 43.3932665, 3.61682274 43.39236689, 3.61805634 43.39235986))"}, {"revetement_avant": "enrobe", "revetement_apres": "paillage", "surface_m2": 2500.0, "geometrie": "POLYGON ((3.61867313 43.39235634, 3.61867797 43.39280614, 3.61806116 43.39280966, 3.61805634 43.39235986, 3.61867313 43.39235634))"}], "financements": [{"financeur": "Agence de l''eau Rhône Méditerranée Corse", "montant_eur": 50000.0}, {"financeur": "Région Occitanie", "montant_eur": 20000.5}], "photos": [{"moment": "avant", "chemin": "photos/op1_avant.png", "legende": "Avant travaux"}, {"moment": "apres", "chemin": "photos/op1_apres.png", "legende": null}], "cree_par": "ref@sete.fr", "cree_le": "2026-12-02T01:43:16.563488"}');
INSERT INTO "journal" VALUES(12,'2026-12-02 01:43:16.603826','admin@bassin.fr','creation','operation',2,'{"code_insee": "34108", "nom": "Parking du stade", "type_site": "parking", "statut": "programmee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": null, "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": null, "arbres_plantes": 4, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": [], "surface_declaree_m2": 1500.0, "localisation_approximative": true, "source": "https://example.org/cour", "zones": [{"revetement_avant": "enrobe", "revetement_apres": "paves_enherbes", "surface_m2": 1600.0, "geometrie": "POLYGON ((3.64203817 43.39671862, 3.64204219 43.39707846, 3.64154871 43.39708138, 3.6415447 43.39672154, 3.64203817 43.39671862))"}], "financements": [], "photos": [], "cree_par": "admin@bassin.fr", "cree_le": "2026-12-02T01:43:16.603826"}');
INSERT INTO "journal" VALUES(13,'2026-12-02 01:43:16.614369','ref@sete.fr','creation','operation',3,'{"code_insee": "34301", "nom": "Place à supprimer", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": "2023-06-30", "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": 120000.0, "arbres_plantes": 4, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0, "localisation_approximative": false, "source": "https://example.org/cour", "zones": [{"revetement_avant": "beton", "revetement_apres": "pelouse", "surface_m2": 900.0, "geometrie": "POLYGON ((3.61102484 43.39239977, 3.6110277 43.39266965, 3.61065762 43.39267174, 3.61065476 43.39240186, 3.61102484 43.39239977))"}], "financements": [], "photos": [], "cree_par": "ref@sete.fr", "cree_le": "2026-12-02T01:43:16.614369"}');
INSERT INTO "journal" VALUES(14,'2026-12-02 01:43:16.629038','ref@sete.fr','modification','operation',1,'{"contact": [null, "st@sete.fr"], "arbres_plantes": [4, 6]}');
INSERT INTO "journal" VALUES(15,'2026-12-02 01:43:16.644546','admin@bassin.fr','validation','operation',1,'{"validation": ["a_valider", "validee"]}');
INSERT INTO "journal" VALUES(16,'2026-12-02 01:43:16.648116','admin@bassin.fr','suppression','operation',3,'{"supprimee": [false, true]}');
INSERT INTO "journal" VALUES(17,'2026-12-02 01:43:16.654627','admin@bassin.fr','creation','operation',4,'{"code_insee": "34301", "nom": "Jardin de pluie n° 1", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": "2023-06-30", "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": 120000.0, "arbres_plantes": 1, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0, "localisation_approximative": false, "source": "https://example.org/cour", "zones": [{"revetement_avant": "enrobe", "revetement_apres": "pelouse", "surface_m2": 441.0, "geometrie": "POLYGON ((3.620705 43.38514747, 3.62070704 43.38533638, 3.62044802 43.38533787, 3.62044598 43.38514895, 3.620705 43.38514747))"}], "financements": [], "photos": [], "cree_par": "admin@bassin.fr", "cree_le": "2026-12-02T01:43:16.654627"}');
INSERT INTO "journal" VALUES(18,'2026-12-02 01:43:16.654627','admin@bassin.fr','creation','operation',5,'{"code_insee": "34301", "nom": "Jardin de pluie n° 2", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": "2023-06-30", "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": 120000.0, "arbres_plantes": 2, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0, "localisation_approximative": false, "source": "https://example.org/cour", "zones": [{"revetement_avant": "enrobe", "revetement_apres": "pelouse", "surface_m2": 484.0, "geometrie": "POLYGON ((3.62441766 43.38512612, 3.6244198 43.38532403, 3.62414844 43.3853256, 3.6241463 43.38512768, 3.62441766 43.38512612))"}], "financements": [], "photos": [], "cree_par": "admin@bassin.fr", "cree_le": "2026-12-02T01:43:16.654627"}');
INSERT INTO "journal" VALUES(19,'2026-12-02 01:43:16.654627','admin@bassin.fr','creation','operation',6,'{"code_insee": "34301", "nom": "Jardin de pluie n° 3", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider", "commentaire_validation": null, "date_fin_travaux": "2023-06-30", "maitre_ouvrage": "Ville de Sète", "description": "Cour débitumée, noue plantée « école ».", "retour_experience": null, "contact": null, "cout_ht_eur": 120000.0, "arbres_plantes": 3, "deconnexion_reseau": true, "volume_stockage_m3": 12.5, "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0, "localisation_approximative": false, "source": "https://example.org/cour", "zones": [{"revetement_avant": "enrobe", "revetement_apres": "pelouse", "surface_m2": 529.0, "geometrie": "POLYGON ((3.62813031 43.38510464, 3.62813256 43.38531155, 3.62784887 43.3853132, 3.62784662 43.38510629, 3.62813031 43.38510464))"}], "financements": [], "photos": [], "cree_par": "admin@bassin.fr", "cree_le": "2026-12-02T01:43:16.654627"}');
INSERT INTO "journal" VALUES(20,'2026-12-02 01:43:16.661838','admin@bassin.fr','modification','objectifs',0,'{"34301 2030": [null, 5000.0]}');
INSERT INTO "journal" VALUES(21,'2026-12-02 01:43:16.662404','admin@bassin.fr','modification','parametres',0,'{"ruissellement": [0.9, 0.95]}');
CREATE TABLE operation (
	id INTEGER NOT NULL, 
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
	cree_le DATETIME NOT NULL, 
	modifie_par TEXT, 
	modifie_le DATETIME, 
	version INTEGER NOT NULL, 
	supprimee BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_operation_version CHECK (version >= 1), 
	CONSTRAINT ck_operation_arbres CHECK (arbres_plantes >= 0)
);
INSERT INTO "operation" VALUES(1,'34301','Cour de l''école Jules-Ferry','cour_ecole','realisee','validee',NULL,'2023-06-30','Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,'st@sete.fr',120000.0,6,1,12.5,'["34301000AB0123", "34301000AB0124"]',1500.0,0,'https://example.org/cour','ref@sete.fr','2026-12-02 01:43:16.563488','admin@bassin.fr','2026-12-02 01:43:16.644546',3,0);
INSERT INTO "operation" VALUES(2,'34108','Parking du stade','parking','programmee','a_valider',NULL,NULL,'Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,NULL,NULL,4,1,12.5,'[]',1500.0,1,'https://example.org/cour','admin@bassin.fr','2026-12-02 01:43:16.603826',NULL,NULL,1,0);
INSERT INTO "operation" VALUES(3,'34301','Place à supprimer','cour_ecole','realisee','a_valider',NULL,'2023-06-30','Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,NULL,120000.0,4,1,12.5,'["34301000AB0123", "34301000AB0124"]',1500.0,0,'https://example.org/cour','ref@sete.fr','2026-12-02 01:43:16.614369','admin@bassin.fr','2026-12-02 01:43:16.648116',2,1);
INSERT INTO "operation" VALUES(4,'34301','Jardin de pluie n° 1','cour_ecole','realisee','a_valider',NULL,'2023-06-30','Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,NULL,120000.0,1,1,12.5,'["34301000AB0123", "34301000AB0124"]',1500.0,0,'https://example.org/cour','admin@bassin.fr','2026-12-02 01:43:16.654627',NULL,NULL,1,0);
INSERT INTO "operation" VALUES(5,'34301','Jardin de pluie n° 2','cour_ecole','realisee','a_valider',NULL,'2023-06-30','Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,NULL,120000.0,2,1,12.5,'["34301000AB0123", "34301000AB0124"]',1500.0,0,'https://example.org/cour','admin@bassin.fr','2026-12-02 01:43:16.654627',NULL,NULL,1,0);
INSERT INTO "operation" VALUES(6,'34301','Jardin de pluie n° 3','cour_ecole','realisee','a_valider',NULL,'2023-06-30','Ville de Sète','Cour débitumée, noue plantée « école ».',NULL,NULL,120000.0,3,1,12.5,'["34301000AB0123", "34301000AB0124"]',1500.0,0,'https://example.org/cour','admin@bassin.fr','2026-12-02 01:43:16.654627',NULL,NULL,1,0);
CREATE TABLE photo (
	id INTEGER NOT NULL, 
	operation_id INTEGER NOT NULL, 
	moment VARCHAR(10) NOT NULL, 
	chemin TEXT NOT NULL, 
	legende TEXT, 
	ajoutee_le DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_photo_moment CHECK (moment IN ('avant', 'apres')), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);
INSERT INTO "photo" VALUES(1,1,'avant','photos/op1_avant.png','Avant travaux','2023-01-05 12:00:00.000000');
INSERT INTO "photo" VALUES(2,1,'apres','photos/op1_apres.png',NULL,'2026-12-02 01:43:16.563488');
CREATE TABLE utilisateur (
	id INTEGER NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	nom TEXT NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	communes TEXT NOT NULL, 
	mot_de_passe_hash TEXT, 
	actif BOOLEAN NOT NULL, 
	cree_le DATETIME NOT NULL, 
	echecs_connexion INTEGER NOT NULL, 
	bloque_jusqua DATETIME, 
	derniere_connexion DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (email)
);
INSERT INTO "utilisateur" VALUES(1,'admin@bassin.fr','Alex Admin','administrateur','','$argon2id$v=19$m=65536,t=3,p=4$rNlZ2qzpctbqKe32BBZfnw$ZW5hl6wl9QnjsqlOg+g/f/LUMuqGcrJut0LLgNdzH1M',1,'2026-12-02 01:43:15.934643',0,NULL,'2024-03-03 08:30:00.000000');
INSERT INTO "utilisateur" VALUES(2,'ref@sete.fr','Camille Référente','referent','34301,34108','$argon2id$v=19$m=65536,t=3,p=4$KV9OrkmBKTm5RB5RUTyvTw$wYiNANBWs1MMQoVIw0FsOZ+8xgvrQBv+rnlPjjjlQGQ',1,'2026-12-02 01:43:16.509646',1,NULL,NULL);
INSERT INTO "utilisateur" VALUES(3,'financeur@agence.fr','Dominique Financeur','financeur','',NULL,1,'2026-12-02 01:43:16.512787',5,'2024-03-02 10:15:00.000000',NULL);
CREATE TABLE zone (
	id INTEGER NOT NULL, 
	operation_id INTEGER NOT NULL, 
	geometrie BLOB NOT NULL, 
	revetement_avant VARCHAR(40) NOT NULL, 
	revetement_apres VARCHAR(40) NOT NULL, 
	surface_m2 FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_zone_surface CHECK (surface_m2 >= 0), 
	FOREIGN KEY(operation_id) REFERENCES operation (id) ON DELETE CASCADE
);
INSERT INTO "zone" VALUES(1,1,X'01030000000100000005000000FB4E2285C7F10C40D0ED0FD938B24540FDAD2295CCF10C404828795356B24540D01636D045EF0C40A2DE7B8E56B2454089DDCBC240EF0C402565121439B24540FB4E2285C7F10C40D0ED0FD938B24540','enrobe','pelouse',9999.99999976717);
INSERT INTO "zone" VALUES(2,1,X'01030000000100000005000000E2A449E60AF30C40C86083BB38B24540BD11EE6E0DF30C40ABC4B77847B24540C332210DCAF10C407961449647B24540FB4E2285C7F10C40D0ED0FD938B24540E2A449E60AF30C40C86083BB38B24540','enrobe','paillage',2.49999999995343387122e+03);
INSERT INTO "zone" VALUES(3,2,X'010300000001000000050000005F48E4E8E4220D405214F5ACC7B24540364D7103E7220D40CB0F8677D3B245404E9E0B4AE4210D4059060F90D3B245409D8EE82FE2210D4067007EC5C7B245405F48E4E8E4220D405214F5ACC7B24540','enrobe','paves_enherbes',1.59999999998137354849e+03);
INSERT INTO "zone" VALUES(4,3,X'010300000001000000050000008758ABFD60E30C407383D6273AB2454036E80A7E62E30C40222AC3FF42B2454042D9A476A0E20C40A0AF461143B2454059E180F69EE20C4057035A393AB245408758ABFD60E30C407383D6273AB24540','beton','pelouse',900.0);
INSERT INTO "zone" VALUES(5,4,X'010300000001000000050000000DD1282F34F70C401DF024834CB14540E4CD724035F70C407596E1B352B14540E42FEE72ADF60C401C0D56C052B145407664C161ACF60C40FA63998F4CB145400DD1282F34F70C401DF024834CB14540','enrobe','pelouse',441.0);
INSERT INTO "zone" VALUES(6,5,X'01030000000100000005000000180816AFCEFE0C40438B0DD04BB1454062E919CFCFFE0C407BBA404C52B14540A7841A8A41FE0C405DF9605952B1454074AD366A40FE0C4010C72DDD4BB14540180816AFCEFE0C40438B0DD04BB14540','enrobe','pelouse',4.83999999989755451661e+02);
INSERT INTO "zone" VALUES(7,6,X'010300000001000000050000008662A42E69060D40B8BEE41B4BB1454015028A5D6A060D40C4728EE351B145404F6010A1D5050D402C4A5CF151B1454067C54D72D4050D40BB92B2294BB145408662A42E69060D40B8BEE41B4BB14540','enrobe','pelouse',5.28999999990628566592e+02);
CREATE INDEX ix_operation_supprimee ON operation (supprimee);
CREATE INDEX ix_operation_code_insee ON operation (code_insee);
CREATE INDEX ix_journal_cible ON journal (table_cible, enregistrement_id);
CREATE INDEX ix_journal_horodatage ON journal (horodatage);
CREATE INDEX ix_zone_operation_id ON zone (operation_id);
CREATE INDEX ix_financement_operation_id ON financement (operation_id);
CREATE INDEX ix_photo_operation_id ON photo (operation_id);
COMMIT;
